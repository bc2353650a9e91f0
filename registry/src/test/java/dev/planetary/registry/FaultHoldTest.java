package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.FakeClock;
import dev.planetary.registry.testing.Node;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A VM must not expire because Genesis could not take its heartbeat: after Genesis' own fault (here: accepting
 * failed, as it does out of descriptors), expiry waits until every VM had a whole TTL of healthy time. Time is the
 * test's clock.
 */
class FaultHoldTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    @Test
    void acceptFailuresHoldExpiryForOneTtlAfterTheyEnd() throws Exception {
        FakeClock clock = new FakeClock();
        try (Node node = Node.start(dir, clock, Settings.defaults(), false)) {
            String a = node.register("{\"cores\": 1}").json().get("id").asText();
            clock.advance(Duration.ofSeconds(10));
            // what the listener sees when the process is out of descriptors (EMFILE)
            node.genesis.listeners().get(0).pipeline()
                .fireExceptionCaught(new IOException("accept(..) failed: Too many open files"));
            // the first report, and the one when accepting is tried again after the back-off
            await().atMost(WAIT).until(() -> node.genesis.faults().reports() >= 2);
            clock.advance(Duration.ofSeconds(6)); // 16 s of silence: past the 15 s TTL
            await().atMost(WAIT).until(() -> node.get("/api/health").json().get("expiry_held").booleanValue());
            assertThat(node.get("/api/health").json().get("status").asText()).isEqualTo("expiry-held");
            Thread.sleep(3 * Writer.TICK_MILLIS); // several writer ticks at this time: it stays
            assertThat(node.get("/api/vms/" + a).status()).as("not expired while held").isEqualTo(200);

            clock.advance(Duration.ofSeconds(16)); // a whole TTL after the fault, and still silent: it goes
            await().atMost(WAIT).until(() -> node.get("/api/vms/" + a).status() == 404);
            assertThat(node.get("/api/health").json().get("expiry_held").booleanValue()).isFalse();
        }
    }

    @Test
    void aVmThatHeartbeatsAgainAfterTheFaultStays() throws Exception {
        FakeClock clock = new FakeClock();
        try (Node node = Node.start(dir, clock, Settings.defaults(), false)) {
            String a = node.register("{\"cores\": 1}").json().get("id").asText();
            clock.advance(Duration.ofSeconds(14));
            node.genesis.faults().report("test: the writer stalled", clock.nanos());
            clock.advance(Duration.ofSeconds(10)); // 24 s silent, 10 s after the fault
            await().atMost(WAIT).until(() -> node.get("/api/health").json().get("expiry_held").booleanValue());
            assertThat(node.heartbeat(a).status()).isEqualTo(200);
            clock.advance(Duration.ofSeconds(10));
            Thread.sleep(3 * Writer.TICK_MILLIS);
            assertThat(node.get("/api/vms/" + a).status()).isEqualTo(200);
        }
    }

    @Test
    void aStalledWriterAndAStalledEventLoopAreReportedAsFaults() throws Exception {
        FakeClock clock = new FakeClock();
        try (Node node = Node.start(dir, clock, Settings.defaults(), false)) {
            assertThat(node.genesis.faults().reports()).isZero();
            // a writer round that takes longer than the bound (as a slow fsync would)
            node.genesis.writer().submit((reg, now, wall) -> {
                Thread.sleep(Genesis.STALL_MILLIS + 300);
                return null;
            }, true).get();
            await().atMost(WAIT).until(() -> node.genesis.faults().reports() >= 1);
            assertThat(node.genesis.faults().lastWhat()).contains("group commit");
            long before = node.genesis.faults().reports();
            // an HTTP event loop held up for longer than the bound
            node.genesis.listeners().get(0).eventLoop().execute(() -> {
                try {
                    Thread.sleep(Genesis.STALL_MILLIS + 500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            await().atMost(WAIT).until(() -> node.genesis.faults().reports() > before);
            assertThat(node.genesis.faults().lastWhat()).contains("event loop stalled");
            await().atMost(WAIT).until(() -> node.get("/api/health").json().get("expiry_held").booleanValue());
        }
    }
}
