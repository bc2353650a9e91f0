package dev.planetary.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.registry.Json;
import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.EtcdForClass;
import dev.planetary.registry.testing.Node;
import dev.planetary.registry.testing.Node.Res;
import dev.planetary.registry.testing.SseClient;
import dev.planetary.registry.testing.SseClient.Event;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two Genesis instances on one etcd serve one registry: what one registers the other's watch shows, a {@code since}
 * taken on one resumes on the other, registrations at the same moment never share an offset, and an instance killed
 * mid-registration leaves nothing that re-registering on the other cannot finish. One etcd per class.
 */
class GenesisInstancesTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @RegisterExtension
    static final EtcdForClass ETCD = new EtcdForClass();

    @TempDir
    Path dir;
    final List<AutoCloseable> open = new ArrayList<>();
    EtcdTarget target;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private Node instance(TestInfo info, String name) {
        return instance(info, name, Settings.defaults());
    }

    private Node instance(TestInfo info, String name, Settings settings) {
        if (target == null) {
            target = new EtcdTarget(ETCD.process().endpoints(),
                "/test/" + info.getTestMethod().orElseThrow().getName() + "/");
        }
        Node n = Node.startOnEtcd(dir.resolve(name), target, Clock.system(), settings, false);
        open.add(n);
        return n;
    }

    private SseClient watch(Node n, String query) throws Exception {
        SseClient c = new SseClient(n.http, n.base() + "/api/watch" + query);
        open.add(c);
        assertThat(c.status).isEqualTo(200);
        return c;
    }

    @Test
    void bothInstancesNameTheSameHistory(TestInfo info) throws Exception {
        Node a = instance(info, "a");
        Node b = instance(info, "b");
        SseClient wa = watch(a, "");
        SseClient wb = watch(b, "");
        assertThat(wa.history).matches("[0-9a-f]{32}");
        assertThat(wb.history).isEqualTo(wa.history);
    }

    @Test
    void registeredOnASeenInBsWatchWithTheSameVersion(TestInfo info) throws Exception {
        Node a = instance(info, "a");
        Node b = instance(info, "b");
        SseClient w = watch(b, "");
        assertThat(w.next(WAIT).type()).isEqualTo("snapshot");
        Res r = a.register("{\"cores\": 2, \"instance\": \"i-1\"}");
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        Event e = w.next(WAIT);
        assertThat(e.type()).isEqualTo("added");
        assertThat(e.version()).isEqualTo(r.json().get("version").longValue());
        assertThat(e.data().at("/vm/id").asText()).isEqualTo(r.json().get("id").asText());
        // and B answers reads of it, and a heartbeat through B
        assertThat(b.get("/api/vms/" + r.json().get("id").asText()).status()).isEqualTo(200);
        b.secrets.putAll(a.secrets);
        assertThat(b.heartbeat(r.json().get("id").asText()).status()).isEqualTo(200);
    }

    @Test
    void sinceTakenOnAResumesOnBWithoutRelist(TestInfo info) throws Exception {
        Node a = instance(info, "a");
        for (int i = 0; i < 3; i++) {
            assertThat(a.register("{\"cores\": 1}").status()).isEqualTo(201);
        }
        long since = a.version();
        // B starts later: it reads the kept change records from etcd, and follows A's later commits
        Node b = instance(info, "b");
        List<Long> later = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            later.add(a.register("{\"cores\": 1}").json().get("version").longValue());
        }
        await().atMost(WAIT).until(() -> b.version() == a.version());
        SseClient w = watch(b, "?since=" + since);
        Event first = w.next(WAIT);
        assertThat(first.type()).as("a resume, not a relist").isEqualTo("added");
        assertThat(first.version()).isEqualTo(since + 1);
        assertThat(w.next(WAIT).version()).isEqualTo(since + 2);
        assertThat(later).containsExactly(since + 1, since + 2);
    }

    @Test
    void fiftyEachOnTwoInstancesAtOnceNeverShareAnOffset(TestInfo info) {
        Node a = instance(info, "a");
        Node b = instance(info, "b");
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            all.add(registerAsync(a, "a-" + i));
            all.add(registerAsync(b, "b-" + i));
        }
        Set<Integer> offsets = new HashSet<>();
        Set<String> ids = new HashSet<>();
        for (CompletableFuture<HttpResponse<String>> f : all) {
            HttpResponse<String> r = f.join();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
            JsonNode j = json(r.body());
            offsets.add(j.at("/ports/pcpu").intValue());
            ids.add(j.get("id").asText());
        }
        assertThat(offsets).hasSize(100);
        assertThat(ids).hasSize(100);
        await().atMost(WAIT).until(() -> a.version() == b.version());
        // the same records on both (heartbeat ages aside: each instance has its own)
        assertThat(records(a)).isEqualTo(records(b));
        assertThat(b.get("/api/vms").json().get("count").intValue()).isEqualTo(100);
    }

    @Test
    void anInstanceClosedMidRegistrationLeavesNothingTheOtherCannotFinish(TestInfo info) {
        Node a = instance(info, "a");
        Node b = instance(info, "b");
        int n = 40;
        List<CompletableFuture<HttpResponse<String>>> onA = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            onA.add(registerAsync(a, "k-" + i, Duration.ofSeconds(5)));
        }
        a.close(); // mid-registration: some answered, some cut, some perhaps committed without an answer
        open.remove(a);
        Map<String, JsonNode> answeredByA = new HashMap<>();
        for (int i = 0; i < n; i++) {
            try {
                HttpResponse<String> r = onA.get(i).join();
                if (r.statusCode() == 201) {
                    answeredByA.put("k-" + i, json(r.body()));
                }
            } catch (CompletionException cut) {
                // the connection went with A, or its answer never came
            }
        }
        Set<Integer> offsets = new HashSet<>();
        for (int i = 0; i < n; i++) {
            String key = "k-" + i;
            HttpResponse<String> r = registerAsync(b, key).join();
            assertThat(r.statusCode()).as(r.body()).isIn(200, 201);
            JsonNode j = json(r.body());
            JsonNode before = answeredByA.get(key);
            if (before != null) {
                assertThat(r.statusCode()).isEqualTo(200);
                assertThat(j.get("id")).isEqualTo(before.get("id"));
                assertThat(j.get("ports")).isEqualTo(before.get("ports"));
            }
            offsets.add(j.at("/ports/pcpu").intValue());
        }
        assertThat(offsets).hasSize(n);
        assertThat(b.get("/api/vms").json().get("count").intValue()).isEqualTo(n);
    }

    @Test
    void heartbeatsToEitherInstanceKeepAVmAndTheLeaderExpiresItOnceTheyStop(TestInfo info) throws Exception {
        // real time: etcd's leases run on its clock (the TTL is whole seconds, 2 s is close to etcd's minimum)
        Settings s = new Settings(Duration.ofMillis(500), Duration.ofSeconds(2), Duration.ZERO, Duration.ofSeconds(60));
        Node a = instance(info, "a", s);
        Node b = instance(info, "b", s);
        Res r = a.register("{\"cores\": 1, \"instance\": \"hb\"}");
        String id = r.json().get("id").asText();
        b.secrets.putAll(a.secrets);
        await().atMost(WAIT).until(() -> b.get("/api/vms/" + id).status() == 200);
        // three TTLs of heartbeats, alternating instances: the VM stays on both
        long until = System.nanoTime() + Duration.ofSeconds(6).toNanos();
        for (int i = 0; System.nanoTime() < until && i < 100; i++) {
            assertThat((i % 2 == 0 ? b : a).heartbeat(id).status()).isEqualTo(200);
            Thread.sleep(300);
        }
        assertThat(a.get("/api/vms/" + id).status()).isEqualTo(200);
        assertThat(b.get("/api/vms/" + id).status()).isEqualTo(200);
        // silence: the lease lapses, the leader expires the VM once, and both instances show it removed
        SseClient w = watch(b, "?since=" + b.version());
        Event removed = w.next(WAIT);
        assertThat(removed.type()).isEqualTo("removed");
        assertThat(removed.data().at("/vm/id").asText()).isEqualTo(id);
        assertThat(removed.data().get("reason").asText()).isEqualTo("expired");
        Thread.sleep(1_000);
        assertThat(w.events).as("decided once: one removal, nothing else").isEmpty();
        await().atMost(WAIT).until(() -> a.get("/api/vms/" + id).status() == 404);
    }

    @Test
    void theTimedDutiesGoOnWhenTheFirstInstanceStops(TestInfo info) throws Exception {
        Settings s = new Settings(Duration.ofMillis(500), Duration.ofSeconds(2), Duration.ZERO, Duration.ofSeconds(60));
        Node a = instance(info, "a", s); // campaigns first: the leader, unless etcd was slow to answer it
        Node b = instance(info, "b", s);
        Res r = b.register("{\"cores\": 1, \"instance\": \"after\"}");
        String id = r.json().get("id").asText();
        await().atMost(WAIT).until(() -> a.get("/api/vms/" + id).status() == 200);
        SseClient w = watch(b, "?since=" + b.version());
        a.close(); // a stopped leader revokes its lease: the other instance takes the key at its next round
        open.remove(a);
        // no heartbeat: the VM's lease lapses after the TTL and the remaining instance expires it
        Event removed = w.next(WAIT);
        assertThat(removed.type()).isEqualTo("removed");
        assertThat(removed.data().at("/vm/id").asText()).isEqualTo(id);
        assertThat(removed.data().get("reason").asText()).isEqualTo("expired");
    }

    /**
     * Self-preservation is decided once, by the leader; every instance's status (and watch snapshot) shows that
     * decision, not its own inactive one: three VMs that never heartbeat lapse together, the leader turns
     * self-preservation on instead of expiring them all, and both instances say so.
     */
    @Test
    void everyInstanceShowsTheLeadersSelfPreservation(TestInfo info) throws Exception {
        Settings s = new Settings(Duration.ofMillis(500), Duration.ofSeconds(2), Duration.ZERO, Duration.ofSeconds(60));
        Node a = instance(info, "a", s);
        Node b = instance(info, "b", s);
        for (int i = 0; i < 3; i++) {
            assertThat(a.register("{\"cores\": 1, \"instance\": \"quiet-" + i + "\"}").status()).isEqualTo(201);
        }
        // no heartbeats: the leases lapse after the TTL, and the leader (whichever instance) preserves
        for (Node n : List.of(a, b)) {
            await().atMost(WAIT).untilAsserted(() -> {
                JsonNode h = n.get("/api/health").json();
                assertThat(h.get("self_preservation").asBoolean()).as("%s", h).isTrue();
                assertThat(h.get("status").asText()).isEqualTo("self-preservation");
            });
        }
        SseClient w = watch(b, "");
        Event snap = w.next(WAIT);
        assertThat(snap.type()).isEqualTo("snapshot");
        assertThat(snap.data().get("self_preservation").asBoolean()).isTrue();
    }

    /** Likewise expiry held after a fault of Genesis' own: the leader's hold is what every instance shows. */
    @Test
    void everyInstanceShowsTheLeadersExpiryHold(TestInfo info) throws Exception {
        Node a = instance(info, "a");
        Node b = instance(info, "b");
        assertThat(a.get("/api/health").json().get("expiry_held").asBoolean()).isFalse();
        // a fault on both: only the leader's counts, and a follower shows it without ticking itself
        a.genesis.faults().report("a test's fault", a.genesis.clock().nanos());
        b.genesis.faults().report("a test's fault", b.genesis.clock().nanos());
        for (Node n : List.of(a, b)) {
            await().atMost(WAIT).untilAsserted(() -> {
                JsonNode h = n.get("/api/health").json();
                assertThat(h.get("expiry_held").asBoolean()).as("%s", h).isTrue();
            });
        }
    }

    private static CompletableFuture<HttpResponse<String>> registerAsync(Node n, String instance) {
        return registerAsync(n, instance, Duration.ofSeconds(60));
    }

    private static CompletableFuture<HttpResponse<String>> registerAsync(Node n, String instance, Duration timeout) {
        return n.http.sendAsync(HttpRequest.newBuilder(URI.create(n.base() + "/api/vms"))
                .timeout(timeout).header("Authorization", "Bearer " + Node.TOKEN)
                .POST(HttpRequest.BodyPublishers.ofString("{\"cores\": 1, \"instance\": \"" + instance + "\"}")).build(),
            HttpResponse.BodyHandlers.ofString());
    }

    private static List<JsonNode> records(Node n) {
        List<JsonNode> out = new ArrayList<>();
        n.get("/api/vms").json().get("vms").forEach(v -> out.add(((com.fasterxml.jackson.databind.node.ObjectNode) v)
            .deepCopy().without("last_heartbeat_ms_ago")));
        return out;
    }

    private static JsonNode json(String body) {
        try {
            return Json.MAPPER.readTree(body);
        } catch (java.io.IOException e) {
            throw new AssertionError(body, e);
        }
    }
}
