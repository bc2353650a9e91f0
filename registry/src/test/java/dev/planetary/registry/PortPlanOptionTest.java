package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.core.ports.PortPlan;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.FakeClock;
import dev.planetary.registry.testing.Node;
import dev.planetary.registry.testing.Node.Res;
import dev.planetary.registry.testing.SseClient;
import dev.planetary.registry.testing.SseClient.Event;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The port plan as a Genesis option (issue 8): served on {@code /api/ports/plan}, the VM cap following the smallest
 * range, bad plans refused as bad options, a data dir written with another plan refused while any VM holds ports;
 * and over HTTP, the end of a grace period as its own logged {@code released} change (issues 11 and 12).
 */
class PortPlanOptionTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    /** Caps at 5 VMs (transfer has 6 ports, its first the entrance); sizes 10, 7, 6 are not multiples. */
    private static final PortPlan SMALL = PortPlan.parse("pcpu=40000-40009,pfsshfs=41000-41006,transfer=42000-42005");
    /** A long TTL (the clock jumps past grace periods without heartbeats), no drain, 30 s of grace. */
    private static final Settings QUICK = new Settings(Duration.ofSeconds(5), Duration.ofHours(1), Duration.ZERO,
        Duration.ofSeconds(30));

    @TempDir
    Path dir;

    @Test
    void theDefaultPlanIsServed() throws Exception {
        try (Node node = Node.start(dir.resolve("data"))) {
            Res r = node.get("/api/ports/plan");
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.json()).isEqualTo(Json.MAPPER.readTree("{\"kinds\":{\"pcpu\":{\"low\":10000,\"high\":19999},"
                + "\"pfsshfs\":{\"low\":20000,\"high\":29999},\"transfer\":{\"low\":30000,\"high\":31999}},"
                + "\"max_vms\":1999,\"grace_ms\":60000,\"version\":0}"));
            node.register("{\"cores\": 1}");
            assertThat(node.get("/api/ports/plan").json().get("version").longValue()).isEqualTo(1);
            assertThat(node.send("POST", "/api/ports/plan", "{}", Node.TOKEN).status()).isEqualTo(405);
        }
    }

    @Test
    void aSmallPlanIsServedAndCapsRegistrationsAtItsSmallestRange() throws Exception {
        try (Node node = Node.start(dir.resolve("data"), new FakeClock(), QUICK, SMALL, false)) {
            JsonNode plan = node.get("/api/ports/plan").json();
            assertThat(plan.at("/kinds/pfsshfs/low").intValue()).isEqualTo(41_000);
            assertThat(plan.at("/kinds/pfsshfs/high").intValue()).isEqualTo(41_006);
            assertThat(plan.get("max_vms").intValue()).isEqualTo(5);
            assertThat(plan.get("grace_ms").longValue()).isEqualTo(30_000);
            for (int i = 0; i < 5; i++) {
                Res r = node.register("{\"cores\": 1}");
                assertThat(r.status()).as(r.body()).isEqualTo(201);
                assertThat(r.json().at("/ports/transfer").intValue()).isBetween(42_001, 42_005);
                assertThat(r.json().at("/ports/pcpu").intValue()).isBetween(40_001, 40_009);
            }
            Res full = node.register("{\"cores\": 1}");
            assertThat(full.status()).isEqualTo(503);
            assertThat(full.error()).isEqualTo("port range full: transfer 42001-42005 has no free port (5 VMs hold ports)");
            JsonNode ports = node.get("/api/ports").json();
            assertThat(ports.get("capacity").intValue()).isEqualTo(5);
            assertThat(ports.at("/ranges/transfer").asText()).isEqualTo("42001-42005 (entrance 42000)");
            assertThat(node.get("/api/health").json().get("ports_capacity").intValue()).isEqualTo(5);
        }
    }

    /**
     * Issue 11: at the cap, one VM removed, its slot given to a new VM after the grace period, then a restart. The
     * grace expiry is a {@code released} change on the watch stream and in the log, so the restart rebuilds the same
     * state instead of refusing with "taken by another VM (corrupt data?)".
     */
    @Test
    void restartAtCapacityAfterAFreedSlotWasReused() throws Exception {
        FakeClock clock = new FakeClock();
        Path data = dir.resolve("data");
        String before;
        long version;
        try (Node node = Node.start(data, clock, QUICK, SMALL, false);
             SseClient w = new SseClient(node.http, node.base() + "/api/watch")) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                ids.add(node.register("{\"cores\": 1, \"instance\": \"host-" + i + "\"}").json().get("id").asText());
            }
            assertThat(w.next(WAIT).type()).isEqualTo("snapshot");
            for (int i = 0; i < 5; i++) {
                assertThat(w.next(WAIT).type()).isEqualTo("added");
            }
            JsonNode leaving = node.get("/api/vms/" + ids.get(2)).json();
            assertThat(node.send("DELETE", "/api/vms/" + ids.get(2), null, node.secret(ids.get(2))).status()).isEqualTo(202);
            assertThat(w.next(WAIT).type()).isEqualTo("draining");
            Event removed = w.next(WAIT);
            assertThat(removed.type()).isEqualTo("removed");
            assertThat(node.register("{\"cores\": 1}").status()).as("its ports are in grace").isEqualTo(503);
            try (SseClient fresh = new SseClient(node.http, node.base() + "/api/watch")) {
                Event snap = fresh.next(WAIT);
                assertThat(snap.data().get("vms")).hasSize(4);
                assertThat(snap.data().get("grace")).hasSize(1);
                assertThat(snap.data().at("/grace/0/id").asText()).isEqualTo(ids.get(2));
                assertThat(snap.data().at("/grace/0/ports")).isEqualTo(leaving.get("ports"));
            }

            clock.advance(Duration.ofSeconds(31));
            Event released = w.next(WAIT); // the writer's tick frees it, with the next version
            assertThat(released.type()).isEqualTo("released");
            assertThat(released.version()).isEqualTo(removed.version() + 1);
            assertThat(released.data().get("reason").asText()).isEqualTo("grace_expired");
            assertThat(released.data().at("/reservation/id").asText()).isEqualTo(ids.get(2));
            assertThat(released.data().at("/reservation").has("instance")).as("instance keys are not published")
                .isFalse();
            assertThat(released.data().at("/reservation/offset")).isEqualTo(leaving.get("offset"));
            assertThat(released.data().at("/reservation/ports")).isEqualTo(leaving.get("ports"));

            Res reused = node.register("{\"cores\": 1}");
            assertThat(reused.status()).isEqualTo(201);
            assertThat(reused.json().at("/ports/transfer")).isEqualTo(leaving.at("/ports/transfer"));
            Event added = w.next(WAIT);
            assertThat(added.type()).isEqualTo("added");
            assertThat(added.version()).isEqualTo(released.version() + 1);
            before = node.get("/api/vms").body();
            version = node.version();
        }
        try (Node node = Node.start(data, clock, QUICK, SMALL, false);
             SseClient resumed = new SseClient(node.http, node.base() + "/api/watch?since=" + (version - 3))) {
            // the log read back after the restart serves resumes, the release included
            assertThat(List.of(resumed.next(WAIT).type(), resumed.next(WAIT).type(), resumed.next(WAIT).type()))
                .containsExactly("removed", "released", "added");
            assertThat(node.version()).isEqualTo(version);
            // the same VMs, ports and all (every VM counts as seen at the restart)
            assertThat(withoutLiveness(node.get("/api/vms").body())).isEqualTo(withoutLiveness(before));
            assertThat(node.register("{\"cores\": 1}").status()).as("still full").isEqualTo(503);
            // host-2 lost its reservation with the release: it comes back as a new VM, once there is room
            assertThat(node.register("{\"cores\": 1, \"instance\": \"host-2\"}").status()).isEqualTo(503);
        }
    }

    private static JsonNode withoutLiveness(String vms) throws Exception {
        JsonNode all = Json.MAPPER.readTree(vms).get("vms");
        all.forEach(v -> ((com.fasterxml.jackson.databind.node.ObjectNode) v).remove("last_heartbeat_ms_ago"));
        return all;
    }

    @Test
    void anotherPlanIsRefusedWhileAnyVmHoldsPortsNamingBoth() throws Exception {
        FakeClock clock = new FakeClock();
        Path data = dir.resolve("data");
        String id;
        String secret;
        try (Node node = Node.start(data, clock, QUICK, PortPlan.DEFAULT, false)) {
            id = node.register("{\"cores\": 1}").json().get("id").asText();
            secret = node.secret(id);
        }
        assertThat(Files.readString(data.resolve("port-plan")).trim()).isEqualTo(PortPlan.DEFAULT_SPEC);
        assertThatThrownBy(() -> Node.start(data, clock, QUICK, SMALL, false))
            .hasMessageContaining("was written with port plan " + PortPlan.DEFAULT_SPEC)
            .hasMessageContaining("1 VM holds ports")
            .hasMessageContaining("refusing to start with --port-plan " + SMALL.spec());
        // the VM leaves, but its ports are in grace: still held
        try (Node node = Node.start(data, clock, QUICK, PortPlan.DEFAULT, false)) {
            assertThat(node.send("DELETE", "/api/vms/" + id, null, secret).status()).isEqualTo(202);
            await().atMost(WAIT).until(() -> node.get("/api/vms/" + id).status() == 404);
        }
        assertThatThrownBy(() -> Node.start(data, clock, QUICK, SMALL, false))
            .hasMessageContaining("1 VM holds ports under it (1 of them removed and in their grace period)");
        // the grace passes (released, in the log): nothing holds ports, the new plan takes over, versions go on
        long version;
        try (Node node = Node.start(data, clock, QUICK, PortPlan.DEFAULT, false)) {
            clock.advance(Duration.ofSeconds(31));
            await().atMost(WAIT).until(() -> node.get("/api/ports").json().get("held").intValue() == 0);
            version = node.version();
        }
        try (Node node = Node.start(data, clock, QUICK, SMALL, false);
             SseClient resumed = new SseClient(node.http, node.base() + "/api/watch?since=" + (version - 3))) {
            // the old plan's changes still serve resumes: watchers go on from their version
            assertThat(List.of(resumed.next(WAIT).type(), resumed.next(WAIT).type(), resumed.next(WAIT).type()))
                .containsExactly("draining", "removed", "released");
            assertThat(node.version()).isEqualTo(version);
            assertThat(node.get("/api/ports/plan").json().get("max_vms").intValue()).isEqualTo(5);
            Res r = node.register("{\"cores\": 1}");
            assertThat(r.json().get("version").longValue()).isEqualTo(version + 1);
            assertThat(r.json().at("/ports/pcpu").intValue()).isBetween(40_001, 40_009);
        }
        assertThat(Files.readString(data.resolve("port-plan")).trim()).isEqualTo(SMALL.spec());
        try (Node node = Node.start(data, clock, QUICK, SMALL, false)) {
            assertThat(node.get("/api/vms").json().get("vms")).hasSize(1);
        }
    }

    @Test
    void aDataDirFromBeforeThePlanOptionCountsAsTheDefaultPlan() throws Exception {
        FakeClock clock = new FakeClock();
        Path data = dir.resolve("data");
        try (Node node = Node.start(data, clock, QUICK, PortPlan.DEFAULT, false)) {
            node.register("{\"cores\": 1}");
        }
        Files.delete(data.resolve("port-plan"));
        assertThatThrownBy(() -> Node.start(data, clock, QUICK, SMALL, false))
            .hasMessageContaining("port plan " + PortPlan.DEFAULT_SPEC + " (the default; this data dir predates "
                + "--port-plan)");
        try (Node node = Node.start(data, clock, QUICK, PortPlan.DEFAULT, false)) {
            assertThat(node.get("/api/vms").json().get("vms")).hasSize(1);
        }
        assertThat(Files.readString(data.resolve("port-plan")).trim()).isEqualTo(PortPlan.DEFAULT_SPEC);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "overlap      | pcpu=10000-20000,pfsshfs=20000-29999,transfer=30000-31999 | option --port-plan: pcpu 10000-20000 overlaps pfsshfs 20000-29999",
        "unknown kind | pcpu=10000-19999,pfsshfs=20000-29999,ssh=30000-31999      | option --port-plan: unknown kind 'ssh'",
        "low > high   | pcpu=10000-19999,pfsshfs=29999-20000,transfer=30000-31999 | option --port-plan: pfsshfs: low 29999 is above high 20000",
        "missing kind | pcpu=10000-19999,transfer=30000-31999                     | option --port-plan: missing kind 'pfsshfs'",
        "size 1       | pcpu=10000-19999,pfsshfs=20000-29999,transfer=30000-30000 | option --port-plan: transfer: 30000-30000 has 1 port",
    })
    void aBadPlanIsABadOptionExit2NamingTheField(String name, String spec, String message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = RegistryMain.run(new String[] {"--data-dir", dir.resolve("never").toString(), "--port-plan", spec},
            new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
            Node.TOKEN);
        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("planetary registry: " + message)
            .doesNotContain("Exception");
        assertThat(dir.resolve("never")).doesNotExist();
    }
}
