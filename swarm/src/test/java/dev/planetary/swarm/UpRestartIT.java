package dev.planetary.swarm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A second {@code up} on the same directory picks the swarm up again: the same VMs (instance keys, addresses) get
 * the same ids and ports from Genesis, whose data is in the directory too; {@code --fresh} starts clean. Uses up's
 * real ports like TourIT (classes of a module run one at a time).
 */
class UpRestartIT {

    private static final Duration UP_TIMEOUT = Duration.ofSeconds(180);

    @TempDir
    Path dir;

    private Procs.Running up(String... extra) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(Launcher.script().toString(), "up", "--vms", "2",
            "--dir", dir.resolve("up").toString()));
        cmd.addAll(List.of(extra));
        Procs.Running r = Procs.start(Files.createDirectories(dir.resolve("logs")), null, cmd);
        await("up prints what to try").atMost(UP_TIMEOUT).pollInterval(Duration.ofMillis(200))
            .failFast("up exited", () -> !r.process().isAlive())
            .until(() -> r.stdout().contains("Ctrl-C stops everything"));
        return r;
    }

    private List<String> vms() throws Exception {
        Procs.Result r = Procs.run(dir, null, Duration.ofSeconds(60), List.of(Launcher.script().toString(), "swarm",
            "list", "--dir", dir.resolve("up").toString()));
        assertThat(r.code()).as("%s", r).isZero();
        return r.out().lines().filter(l -> l.startsWith("vm_")).map(l -> String.join(" ",
            List.of(l.split("\\s+")).subList(0, 3)) + " " + String.join(" ", List.of(l.split("\\s+")).subList(4, 7)))
            .toList();
    }

    private static void stop(Procs.Running r) throws Exception {
        r.process().destroy(); // SIGTERM, as systemd or kill would: up stops what it started, exit 0
        assertThat(r.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(r.process().exitValue()).as(r.output()).isZero();
    }

    @Test
    void aSecondUpPicksTheSwarmUpAgainAndFreshStartsClean() throws Exception {
        Procs.Running first = up();
        List<String> before;
        try {
            before = vms();
            assertThat(before).hasSize(2);
            // the limit a local swarm meets first: the port plan's 1,999 VMs, refused before any VM starts
            Procs.Result full = Procs.run(dir, null, Duration.ofSeconds(60), List.of(Launcher.script().toString(),
                "swarm", "spawn", "--count", "1998", "--dir", dir.resolve("up").toString()));
            assertThat(full.code()).as("%s", full).isEqualTo(1);
            assertThat(full.stderr()).contains("the port plan holds at most 1999 VMs and 2 hold ports now",
                "spawn at most 1997");
            assertThat(vms()).as("nothing started").hasSize(2);
        } finally {
            stop(first);
        }
        Procs.Running second = up();
        try {
            assertThat(second.stdout()).contains("all 2 VMs routable", "(2 picked up from the previous run)");
            assertThat(vms()).as("same ids, instances, addresses and ports").isEqualTo(before);
        } finally {
            stop(second);
        }
        Procs.Running fresh = up("--fresh");
        try {
            assertThat(fresh.stdout()).contains("all 2 VMs routable").doesNotContain("picked up");
            assertThat(vms()).hasSize(2).doesNotContainAnyElementsOf(before); // a new Genesis: new ids
        } finally {
            stop(fresh);
        }
        assertThat(dir.resolve("up/up.pid")).doesNotExist();
    }
}
