package dev.planetary.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.EtcdProcess;
import dev.planetary.registry.testing.Node;
import dev.planetary.registry.testing.Node.Res;
import dev.planetary.registry.testing.SseClient;
import dev.planetary.registry.testing.SseClient.Event;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcd gone (its only member stopped by PID): writes answer 503 with a clear JSON error, reads, heartbeats and
 * watches keep the last known view, and everything recovers by itself when etcd is back.
 */
class EtcdOutageTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void writesAnswer503ReadersKeepTheLastViewAndItRecoversByItself() throws Exception {
        Settings s = Settings.defaults();
        try (EtcdProcess etcd = EtcdProcess.start(dir.resolve("etcd"))) {
            EtcdTarget t = new EtcdTarget(etcd.endpoints(), "/test/outage/");
            try (Node a = Node.startOnEtcd(dir.resolve("a"), t, Clock.system(), s, false);
                 Node b = Node.startOnEtcd(dir.resolve("b"), t, Clock.system(), s, false)) {
                Res first = a.register("{\"cores\": 1, \"instance\": \"one\"}");
                assertThat(first.status()).isEqualTo(201);
                String id = first.json().get("id").asText();
                b.secrets.putAll(a.secrets);
                await().atMost(WAIT).until(() -> b.version() == a.version());
                try (SseClient w = new SseClient(b.http, b.base() + "/api/watch")) {
                    assertThat(w.next(WAIT).type()).isEqualTo("snapshot");

                    etcd.stop();
                    Res refused = a.register("{\"cores\": 1, \"instance\": \"two\"}");
                    assertThat(refused.status()).as(refused.body()).isEqualTo(503);
                    assertThat(refused.error()).contains("cannot be written now").contains(etcd.url())
                        .contains("reads and watches keep the last known view");
                    assertThat(b.register("{\"cores\": 1, \"instance\": \"three\"}").status()).isEqualTo(503);
                    // the last known view: listed, and heartbeats answered, on both
                    for (Node n : new Node[] {a, b}) {
                        assertThat(n.get("/api/vms").json().get("count").intValue()).isEqualTo(1);
                        assertThat(n.heartbeat(id).status()).isEqualTo(200);
                    }

                    etcd.restart();
                    // recovers by itself: the next write reads the state back and commits. A 503 during the outage
                    // means "not known to be stored" (the transaction may still reach etcd when it is back), so the
                    // retry may find its registration there already: 200 then, the same VM
                    await().atMost(WAIT).pollInterval(Duration.ofMillis(500))
                        .until(() -> a.register("{\"cores\": 1, \"instance\": \"two\"}").status() / 100 == 2);
                    Event added = w.next(WAIT);
                    assertThat(added.type()).isEqualTo("added");
                    assertThat(added.data().at("/vm/instance").isMissingNode()).isTrue();
                    assertThat(b.register("{\"cores\": 1, \"instance\": \"three\"}").status()).isIn(200, 201);
                    await().atMost(WAIT).until(() -> a.get("/api/vms").json().get("count").intValue() == 3
                        && b.version() == a.version());
                }
            }
        }
    }
}
