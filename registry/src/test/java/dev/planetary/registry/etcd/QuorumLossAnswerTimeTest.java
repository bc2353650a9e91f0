package dev.planetary.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.Node;
import dev.planetary.registry.testing.Node.Res;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Without quorum every write must be answered 503 before the VM agent gives up on it: {@link EtcdStore}'s bound
 * ({@link EtcdStore#COMMIT_TIMEOUT_MILLIS}) is chosen to "answer 503 before the VM agent's 5 s request timeout". A write
 * that arrives while the writer is reading the store back (after a failed commit it reloads on every tick) waits for
 * that read to time out, then for its own batch's read: up to twice the bound, past the agent's timeout, so the agent
 * sees a timeout instead of the 503 and its clear error.
 */
class QuorumLossAnswerTimeTest {

    /** The VM agent's default request timeout (registry-client AgentOptions.DEFAULT_REQUEST_TIMEOUT). */
    private static final Duration AGENT_REQUEST_TIMEOUT = Duration.ofSeconds(5);
    /** Writes after the first refused one, each sent this long after the previous answer: inside a reload. */
    private static final int WRITES = 4;
    private static final long PAUSE_MILLIS = 500;

    @TempDir
    Path dir;

    @Test
    void everyWriteWithoutQuorumIsRefusedBeforeTheAgentsTimeout() throws Exception {
        try (EtcdCluster cluster = EtcdCluster.start();
             Node g = Node.startOnEtcd(dir, new EtcdTarget(cluster.endpoints(), "/test/answer-time/"), Clock.system(),
                 Settings.defaults(), false)) {
            assertThat(g.register("{\"cores\": 1, \"instance\": \"before\"}").status()).isEqualTo(201);
            cluster.kill(0);
            cluster.kill(1); // one of three left: no quorum

            List<Long> answeredAfterMillis = new ArrayList<>();
            for (int i = 0; i <= WRITES; i++) {
                long t0 = System.nanoTime();
                Res r = g.register("{\"cores\": 1, \"instance\": \"during-" + i + "\"}");
                answeredAfterMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
                assertThat(r.status()).as(r.body()).isEqualTo(503);
                assertThat(r.error()).contains("cannot be written now");
                Thread.sleep(PAUSE_MILLIS); // the writer is in its next read-back by now
            }
            System.out.println("without quorum, writes answered 503 after (ms): " + answeredAfterMillis);
            assertThat(answeredAfterMillis).as("every 503 before the agent's %s timeout", AGENT_REQUEST_TIMEOUT)
                .allMatch(ms -> ms < AGENT_REQUEST_TIMEOUT.toMillis());
        }
    }
}
