package dev.planetary.registry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.client.testing.GenesisJar;
import dev.planetary.registry.client.testing.Recorder;
import dev.planetary.registry.client.testing.TestGenesis;
import dev.planetary.testkit.Procs;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Genesis' own jar killed with SIGKILL and started again on the same data dir and port, under a watch and two agents:
 * the watch serves its last view meanwhile (stale, told once), then resumes from its version with no relist; the
 * agents ride it out without registering again.
 */
class GenesisJarRestartIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String TOKEN = "jar-restart-token-0123456789";

    @TempDir
    Path dir;
    final List<Process> started = new ArrayList<>();
    final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        started.forEach(Procs::killNow);
    }

    private Procs.Running genesis(int port) {
        Procs.Running r = GenesisJar.start(dir, "g" + started.size(), port, dir.resolve("data"), TOKEN);
        started.add(r.process());
        return r;
    }

    private Agent agent(URI g, String address, String instance) throws Exception {
        Agent a = Agent.start(AgentOptions.builder().genesis(g).token(TOKEN).cores(2).instance(instance)
            .service("pcpu", 7000).address(InetAddress.getByName(address)).initialBackoff(Duration.ofMillis(50))
            .maxBackoff(Duration.ofMillis(300)).build());
        closing.add(a);
        return a;
    }

    @Test
    void sigkillAndRestartResumesByVersionWithoutRelistAndAgentsStay() throws Exception {
        int port = TestGenesis.freePort();
        URI g = URI.create("http://127.0.0.1:" + port);
        Procs.Running first = genesis(port);
        Agent a = agent(g, "127.0.0.41", "a");
        Agent b = agent(g, "127.0.0.42", "b");
        await().atMost(WAIT).until(() -> a.registered() && b.registered());
        Recorder rec = new Recorder();
        SwarmWatch watch = SwarmWatch.start(List.of(g), rec, WatchOptions.builder()
            .initialBackoff(Duration.ofMillis(50)).maxBackoff(Duration.ofMillis(300)).random(new Random(5)).build());
        closing.add(0, watch);
        await().atMost(WAIT).until(() -> rec.last().vms().size() == 2);
        long version = watch.version();
        assertThat(rec.last().vms().get(a.vmId()).ip()).isEqualTo("127.0.0.41");

        first.process().destroyForcibly(); // SIGKILL
        first.process().waitFor();
        await().atMost(WAIT).until(watch::stale);
        assertThat(watch.view().vms()).as("static stability").containsOnlyKeys(a.vmId(), b.vmId());
        assertThat(watch.version()).isEqualTo(version);
        long failedA = a.failedRequests();
        await().atMost(WAIT).until(() -> a.failedRequests() > failedA); // its heartbeats fail meanwhile

        genesis(port);
        await().atMost(WAIT).until(() -> !watch.stale());
        long hbA = a.heartbeats();
        long hbB = b.heartbeats();
        await().atMost(WAIT).until(() -> a.heartbeats() > hbA + 3 && b.heartbeats() > hbB + 3);
        assertThat(a.registrations()).as("restored by Genesis: no new registration").isEqualTo(1);
        assertThat(b.registrations()).isEqualTo(1);

        Agent c = agent(g, "127.0.0.43", "c");
        await().atMost(WAIT).until(() -> c.vmId() != null && rec.last().vms().containsKey(c.vmId()));
        assertThat(watch.version()).as("versions go on from where they were").isEqualTo(version + 1);
        assertThat(watch.relists()).as("resumed with since: no relist").isZero();
        assertThat(watch.malformedEvents()).isZero();
        assertThat(rec.staleTrue()).isEqualTo(1);
        assertThat(rec.staleFalse()).isEqualTo(1);
        assertThat(rec.last().vms()).containsOnlyKeys(a.vmId(), b.vmId(), c.vmId());
        assertThat(rec.errors).isEmpty();
    }
}
