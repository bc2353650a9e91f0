package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.FakeClock;
import dev.planetary.registry.testing.Node;
import dev.planetary.registry.testing.SseClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TTL expiry, drain and self-preservation over HTTP, with a clock the test moves. */
class LivenessTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    @Test
    void expiredVmIsRemovedAndPushedThenHeartbeatIs404() throws Exception {
        FakeClock clock = new FakeClock();
        try (Node node = Node.start(dir, clock, Settings.defaults(), false);
             SseClient w = new SseClient(node.http, node.base() + "/api/watch")) {
            String a = node.register("{\"cores\": 1}").json().get("id").asText();
            String b = node.register("{\"cores\": 1}").json().get("id").asText();
            String c = node.register("{\"cores\": 1}").json().get("id").asText();
            assertThat(w.next(WAIT).type()).isEqualTo("snapshot");
            clock.advance(Duration.ofSeconds(10));
            assertThat(node.heartbeat(b).status()).isEqualTo(200);
            assertThat(node.heartbeat(c).status()).isEqualTo(200);
            clock.advance(Duration.ofSeconds(6));
            SseClient.Event removed = null;
            for (int i = 0; i < 10 && removed == null; i++) {
                SseClient.Event e = w.next(WAIT);
                if (e.type().equals("removed")) {
                    removed = e;
                }
            }
            assertThat(removed).isNotNull();
            assertThat(removed.data().at("/vm/id").asText()).isEqualTo(a);
            assertThat(removed.data().get("reason").asText()).isEqualTo("expired");
            assertThat(node.heartbeat(a).status()).isEqualTo(404);
            assertThat(node.heartbeat(b).status()).isEqualTo(200);
        }
    }

    @Test
    void leaveDrainsThenRemoves() throws Exception {
        FakeClock clock = new FakeClock();
        try (Node node = Node.start(dir, clock, Settings.defaults(), false)) {
            String a = node.register("{\"cores\": 1}").json().get("id").asText();
            assertThat(node.send("DELETE", "/api/vms/" + a, null, node.secret(a)).status()).isEqualTo(202);
            assertThat(node.get("/api/vms/" + a).json().get("state").asText()).isEqualTo("draining");
            clock.advance(Duration.ofSeconds(11));
            await().atMost(WAIT).until(() -> node.get("/api/vms/" + a).status() == 404);
            assertThat(node.get("/api/ports").json().at("/ports/0/state").asText()).isEqualTo("grace");
        }
    }

    @Test
    void selfPreservationKeepsVmsAndIsReportedOnHealth() throws Exception {
        FakeClock clock = new FakeClock();
        try (Node node = Node.start(dir, clock, Settings.defaults(), false)) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                ids.add(node.register("{\"cores\": 1}").json().get("id").asText());
            }
            clock.advance(Duration.ofSeconds(10));
            node.heartbeat(ids.get(0));
            node.heartbeat(ids.get(1));
            clock.advance(Duration.ofSeconds(6)); // 4 of 6 lapsed: the registry's side is the likelier fault
            await().atMost(WAIT).until(() -> node.get("/api/health").json().get("self_preservation").booleanValue());
            var health = node.get("/api/health").json();
            assertThat(health.get("status").asText()).isEqualTo("self-preservation");
            assertThat(health.get("lapsed").intValue()).isEqualTo(4);
            assertThat(node.get("/api/vms").json().get("vms")).hasSize(6);
            // all heartbeats come back at once: on the writer thread, so no expiry tick runs between two of them (one
            // by one over HTTP, a tick after the third found 3 of 6 lapsed, no longer a majority, and expired the rest)
            node.genesis.writer().submit((reg, now, wall) -> {
                for (String id : ids) {
                    assertThat(reg.heartbeat(id, Double.NaN, Double.NaN, clock.nanos())).isNotNull();
                }
                return null;
            }, false).get();
            for (String id : ids) {
                assertThat(node.heartbeat(id).status()).isEqualTo(200);
            }
            await().atMost(WAIT).until(() -> !node.get("/api/health").json().get("self_preservation").booleanValue());
            assertThat(node.get("/api/health").json().get("status").asText()).isEqualTo("ok");
            assertThat(node.get("/api/vms").json().get("vms")).hasSize(6);
        }
    }
}
