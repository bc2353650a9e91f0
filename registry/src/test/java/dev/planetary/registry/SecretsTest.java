package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.core.ports.PortPlan;
import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Registry;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.state.Vm;
import dev.planetary.registry.store.Store;
import dev.planetary.registry.testing.FakeClock;
import dev.planetary.registry.testing.Node;
import dev.planetary.registry.testing.Node.Res;
import dev.planetary.registry.testing.SseClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each VM's own secret: given once at registration, stored hashed, the only credential for its heartbeat and leave;
 * re-registering a known instance needs it or the VM's address; instance keys are not published to readers.
 */
class SecretsTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String BODY = "{\"cores\": 1, \"instance\": \"host-a\"}";

    @TempDir
    Path dir;

    /** One request with {@code Connection: close} from source address {@code from}: status and JSON body. */
    record Raw(int status, JsonNode json) {
    }

    static Raw raw(Node node, String from, String method, String path, String body, Map<String, String> headers)
        throws IOException {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(from, 0));
            s.connect(new InetSocketAddress("127.0.0.1", node.genesis.port()), 5_000);
            s.setSoTimeout(10_000);
            StringBuilder req = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: g\r\nConnection: close\r\n");
            headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
            byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            req.append("Content-Type: application/json\r\nContent-Length: ").append(b.length).append("\r\n\r\n");
            s.getOutputStream().write(req.toString().getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().write(b);
            InputStream in = s.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            in.transferTo(all);
            String text = all.toString(StandardCharsets.UTF_8);
            int status = Integer.parseInt(text.substring(9, 12));
            String json = text.substring(text.indexOf("\r\n\r\n") + 4);
            return new Raw(status, json.isEmpty() ? null : Json.MAPPER.readTree(json));
        }
    }

    private static Map<String, String> bearer(String credential) {
        return Map.of("Authorization", "Bearer " + credential);
    }

    @Test
    void aNewRegistrationGetsASecretOnceAndOnlyItsHashIsStored() throws Exception {
        Path data = dir.resolve("data");
        String secret;
        String idA;
        try (Node node = Node.start(data);
             SseClient w = new SseClient(node.http, node.base() + "/api/watch")) {
            Res a = node.register(BODY);
            assertThat(a.status()).isEqualTo(201);
            secret = a.json().get("secret").asText();
            assertThat(secret).matches("[A-Za-z0-9_-]{43}"); // 256 bits, base64url without padding
            Res b = node.register("{\"cores\": 1}");
            assertThat(b.json().get("secret").asText()).isNotEqualTo(secret);
            String id = a.json().get("id").asText();
            idA = id;
            // readers see neither the secret nor the instance key; the join token's holder sees the instance key
            Res list = node.get("/api/vms");
            assertThat(list.body()).doesNotContain(secret).doesNotContain("host-a").doesNotContain("secret");
            assertThat(node.get("/api/vms/" + id).json().has("instance")).isFalse();
            Res operator = node.send("GET", "/api/vms/" + id, null, Node.TOKEN);
            assertThat(operator.json().get("instance").asText()).isEqualTo("host-a");
            assertThat(operator.body()).doesNotContain("secret");
            assertThat(node.send("GET", "/api/vms", null, Node.TOKEN).body()).contains("host-a");
            assertThat(w.next(WAIT).type()).isEqualTo("snapshot");
            SseClient.Event added = w.next(WAIT);
            assertThat(added.data().toString()).doesNotContain("host-a").doesNotContain("secret");
            // peers in another VM's answer: no instance key
            assertThat(b.json().get("peers").toString()).doesNotContain("host-a");
        }
        String hash = dev.planetary.registry.state.VmSecret.hash(secret);
        try (Stream<Path> files = Files.list(data)) {
            String stored = files.filter(Files::isRegularFile).map(p -> {
                try {
                    return Files.readString(p, StandardCharsets.ISO_8859_1);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).reduce("", String::concat);
            assertThat(stored).doesNotContain(secret).contains(hash);
        }
        // after a restart, the secret (checked against the stored hash) still works
        try (Node node = Node.start(data)) {
            assertThat(node.send("PUT", "/api/vms/" + idA + "/heartbeat", null, secret).status()).isEqualTo(200);
        }
    }

    @Test
    void heartbeatAndLeaveTakeOnlyTheVmsOwnSecret() throws Exception {
        try (Node node = Node.start(dir.resolve("data"))) {
            String a = node.register(BODY).json().get("id").asText();
            String b = node.register("{\"cores\": 1}").json().get("id").asText();
            long v = node.version();
            for (String wrong : new String[] {Node.TOKEN, node.secret(b), "x".repeat(43)}) {
                Res hb = node.send("PUT", "/api/vms/" + a + "/heartbeat", null, wrong);
                assertThat(hb.status()).as(hb.body()).isEqualTo(403);
                assertThat(hb.error()).contains(a);
                assertThat(node.send("DELETE", "/api/vms/" + a, null, wrong).status()).isEqualTo(403);
            }
            assertThat(node.version()).as("nothing changed").isEqualTo(v);
            assertThat(node.get("/api/vms/" + a).json().get("state").asText()).isEqualTo("active");
            assertThat(node.heartbeat(a).status()).isEqualTo(200);
            assertThat(node.leave(a).status()).isEqualTo(202);
            assertThat(node.get("/api/vms/" + a).json().get("state").asText()).isEqualTo("draining");
        }
    }

    @Test
    void reRegisteringAKnownInstanceNeedsItsSecretOrItsAddress() throws Exception {
        try (Node node = Node.start(dir.resolve("data"))) {
            Res first = node.register(BODY);
            String id = first.json().get("id").asText();
            String secret = first.json().get("secret").asText();
            long v = node.version();

            // another address with the join token alone: refused, nothing changes
            Raw stolen = raw(node, "127.0.0.2", "POST", "/api/vms", BODY, bearer(Node.TOKEN));
            assertThat(stolen.status()).isEqualTo(403);
            assertThat(stolen.json().get("error").asText()).contains("host-a").contains(Registry.SECRET_HEADER);
            assertThat(node.version()).isEqualTo(v);
            assertThat(node.get("/api/vms/" + id).json().get("ip").asText()).isEqualTo("127.0.0.1");
            // ... or with another VM's secret
            String other = node.register("{\"cores\": 1}").json().get("secret").asText();
            v = node.version();
            assertThat(raw(node, "127.0.0.2", "POST", "/api/vms", BODY,
                Map.of("Authorization", "Bearer " + Node.TOKEN, Registry.SECRET_HEADER, other)).status())
                .isEqualTo(403);
            assertThat(node.version()).isEqualTo(v);

            // with its secret, from anywhere (the VM moved): same id and ports, no new secret
            Raw moved = raw(node, "127.0.0.2", "POST", "/api/vms", BODY,
                Map.of("Authorization", "Bearer " + Node.TOKEN, Registry.SECRET_HEADER, secret));
            assertThat(moved.status()).isEqualTo(200);
            assertThat(moved.json().get("id").asText()).isEqualTo(id);
            assertThat(moved.json().get("ports")).isEqualTo(first.json().get("ports"));
            assertThat(moved.json().has("secret")).isFalse();
            assertThat(node.get("/api/vms/" + id).json().get("ip").asText()).isEqualTo("127.0.0.2");
            assertThat(node.send("PUT", "/api/vms/" + id + "/heartbeat", null, secret).status()).isEqualTo(200);

            // from its registered address without the secret (an agent that lost it): a new secret, the old one void
            Raw lost = raw(node, "127.0.0.2", "POST", "/api/vms", BODY, bearer(Node.TOKEN));
            assertThat(lost.status()).isEqualTo(200);
            assertThat(lost.json().get("id").asText()).isEqualTo(id);
            String rotated = lost.json().get("secret").asText();
            assertThat(rotated).isNotEqualTo(secret);
            assertThat(node.send("PUT", "/api/vms/" + id + "/heartbeat", null, secret).status()).isEqualTo(403);
            assertThat(node.send("PUT", "/api/vms/" + id + "/heartbeat", null, rotated).status()).isEqualTo(200);
        }
    }

    @Test
    void withinTheGracePeriodToo() throws Exception {
        FakeClock clock = new FakeClock();
        Settings quick = new Settings(Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ZERO,
            Duration.ofSeconds(60));
        try (Node node = Node.start(dir.resolve("data"), clock, quick, false)) {
            Res first = node.register(BODY);
            String id = first.json().get("id").asText();
            assertThat(node.leave(id).status()).isEqualTo(202);
            assertThat(node.get("/api/vms/" + id).status()).isEqualTo(404); // removed, ports in grace
            long v = node.version();
            assertThat(raw(node, "127.0.0.2", "POST", "/api/vms", BODY, bearer(Node.TOKEN)).status()).isEqualTo(403);
            assertThat(node.version()).isEqualTo(v);
            Raw back = raw(node, "127.0.0.2", "POST", "/api/vms", BODY,
                Map.of("Authorization", "Bearer " + Node.TOKEN, Registry.SECRET_HEADER, node.secret(id)));
            assertThat(back.status()).isEqualTo(200);
            assertThat(back.json().get("id").asText()).isEqualTo(id);
            assertThat(back.json().has("secret")).isFalse();
        }
    }

    @Test
    void aVmFromALogWithoutSecretsKeepsWorkingFromItsAddressAndGetsOneWhenItRegistersAgain() throws Exception {
        Path data = dir.resolve("legacy");
        Store.createDir(data);
        // what a registry before per-VM secrets wrote: no secret hash
        int offset = 1;
        while (!PortPlan.DEFAULT.assignable(offset)) {
            offset++;
        }
        Vm old = new Vm("vm_00abcd", "host-a", "127.0.0.1", 1, 1024, 10, Map.of(), Map.of(),
            PortPlan.DEFAULT.ports(offset), Vm.Status.ACTIVE, 1_700_000_000_000L);
        try (Store store = Store.open(data)) {
            store.recover();
            store.append(List.of(new Change(1, Change.Type.ADDED, old, "registered")));
            store.force();
        }
        assertThat(Files.readString(data.resolve("wal.log"))).doesNotContain("secret");
        try (Node node = Node.start(data, Clock.system(), Settings.defaults(), false)) {
            assertThat(node.version()).isEqualTo(1);
            // until it registers again: the join token, from its own address only
            assertThat(node.send("PUT", "/api/vms/vm_00abcd/heartbeat", null, Node.TOKEN).status()).isEqualTo(200);
            assertThat(raw(node, "127.0.0.2", "PUT", "/api/vms/vm_00abcd/heartbeat", null, bearer(Node.TOKEN))
                .status()).isEqualTo(403);
            // its next registration, from its address, gives it a secret
            Res again = node.register(BODY);
            assertThat(again.status()).isEqualTo(200);
            assertThat(again.json().get("id").asText()).isEqualTo("vm_00abcd");
            String secret = again.json().get("secret").asText();
            assertThat(node.send("PUT", "/api/vms/vm_00abcd/heartbeat", null, Node.TOKEN).status()).isEqualTo(403);
            assertThat(node.send("PUT", "/api/vms/vm_00abcd/heartbeat", null, secret).status()).isEqualTo(200);
        }
    }
}
