package dev.planetary.swarm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code up --full} where the descriptor limit cannot hold the shipped plan: up says the plan does not fit, the proxy
 * refuses to start with its own message (how to raise the limit), up stops Genesis, which it had started, and exits 1.
 * Uses Genesis' port 9000 like TourIT (classes of a module run one at a time).
 */
class UpFullPlanIT {

    @TempDir
    Path dir;

    @Test
    void fullInsistsAndFailsClearlyWhereTheLimitIsTooLow() throws Exception {
        long limit = UpMain.descriptorLimit();
        PlanChoice full = PlanChoice.choose(limit, Runtime.getRuntime().availableProcessors(), true);
        Assumptions.assumeTrue(full.needed() > limit, "this machine's descriptor limit (" + limit + ") holds the "
            + "shipped plan: --full simply runs it");
        Procs.Result r = Procs.run(dir, null, Duration.ofSeconds(180), List.of(Launcher.script().toString(), "up",
            "--full", "--vms", "1", "--dir", dir.resolve("up").toString()));
        assertThat(r.code()).as("%s", r).isEqualTo(1);
        assertThat(r.out()).contains("the shipped plan: 10000-19999, 20000-29999, 30000-31999, 32000, maxconn 20000");
        assertThat(r.stderr()).contains("planetary up: the proxy exited (1)", "not enough file descriptors");
        Matcher m = Pattern.compile("Genesis on \\S+ \\(pid (\\d+)").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        long genesis = Long.parseLong(m.group(1));
        assertThat(ProcessHandle.of(genesis).map(ProcessHandle::isAlive).orElse(false))
            .as("Genesis (pid %d), started by up, is stopped", genesis).isFalse();
    }
}
