package dev.planetary.registry.client.haproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.client.Agent;
import dev.planetary.testkit.Procs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The companion as a user runs it (what {@code bin/planetary sync-haproxy} execs: the agent's shaded jar with the
 * companion's main class) against a real Genesis and HAProxy: it routes a VM, logs the change once, and on SIGTERM
 * exits 0 leaving HAProxy's servers in place.
 */
class SyncHaproxyCliIT {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path dir;
    Companion c;
    Procs.Running companion;

    @AfterEach
    void tearDown() {
        if (companion != null) {
            Procs.killNow(companion.process());
        }
        if (c != null) {
            c.close();
        }
    }

    @Test
    void routesAVmLogsItOnceAndLeavesHaproxyAsItIsOnSigterm() throws Exception {
        Path jar = Path.of(System.getProperty("planetary.agent.jar")).toAbsolutePath();
        String java = ProcessHandle.current().info().command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        c = new Companion(dir, 10, Duration.ofSeconds(5));
        companion = Procs.start(dir, null, List.of(java, "-Xmx64m", "-cp", jar.toString(),
            "dev.planetary.registry.client.haproxy.SyncHaproxyMain", "--genesis", c.uri(), "--socket",
            c.socket.toString(), "--pinned-map", c.pins.toString(), "--resync-interval", "200"));
        Companion.Vm a = c.vm("a", "127.0.0.71");
        Agent aa = c.register(a);
        await().atMost(WAIT).until(() -> aa.registered() && Companion.ask(c.entrance()).equals("a"));
        await().atMost(WAIT).until(() -> Companion.ask(aa.ports().get("pcpu")).equals("a"));
        // another change (and the passes it takes) later: still one line for a's addition
        Companion.Vm b = c.vm("b", "127.0.0.72");
        Agent ab = c.register(b);
        await().atMost(WAIT).until(() -> ab.registered() && Companion.ask(ab.ports().get("pcpu")).equals("b"));
        String log = companion.stderr();
        assertThat(log.split("pcpu: added " + aa.vmId(), -1)).as(log).hasSize(2);
        assertThat(log).doesNotContain("Exception");

        companion.process().destroy(); // SIGTERM
        assertThat(companion.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(companion.process().exitValue()).isZero();
        assertThat(Companion.ask(aa.ports().get("pcpu"))).as("HAProxy keeps its servers and pins").isEqualTo("a");
        assertThat(c.cli("show servers state pcpu")).contains(aa.vmId(), ab.vmId());
    }
}
