package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.FakeClock;
import dev.planetary.registry.testing.Node;
import dev.planetary.registry.testing.Node.Res;
import dev.planetary.testkit.Procs;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The HTTP API over loopback with the JDK client and curl: the happy paths and every bad-input case, on the local
 * store ({@link ApiOnEtcdTest}: the same tests on etcd).
 */
class ApiTest {

    @TempDir
    Path dir;
    Node node;

    @BeforeEach
    void start() {
        node = startNode(dir.resolve("data"), Clock.system(), Settings.defaults(), false);
    }

    /** A registry for one test: on the local store here, on etcd in {@link ApiOnEtcdTest}. */
    Node startNode(Path data, Clock clock, Settings settings, boolean allowDeclaredIp) {
        return Node.start(data, clock, settings, allowDeclaredIp);
    }

    @AfterEach
    void stop() {
        node.close();
    }

    @Test
    void registerAnswersIdPortsPeersAndTimings() {
        Res a = node.register("{\"cores\": 4, \"memory_mb\": 2048, \"storage_bytes\": 1000, \"instance\": \"i-a\","
            + " \"services\": {\"pcpu\": 7000, \"ssh\": 22, \"transfer\": 7100, \"ws\": 8080}, \"labels\": {\"zone\": \"a\"}}");
        assertThat(a.status()).as(a.body()).isEqualTo(201);
        JsonNode j = a.json();
        assertThat(j.get("id").asText()).matches("vm_[0-9a-f]{6}");
        assertThat(j.get("ip").asText()).isEqualTo("127.0.0.1");
        int pcpu = j.at("/ports/pcpu").intValue();
        assertThat(pcpu).isBetween(10_001, 19_999);
        assertThat(j.at("/ports/pfsshfs").intValue()).isEqualTo(pcpu + 10_000);
        assertThat(j.at("/ports/transfer").intValue()).isEqualTo(30_000 + (pcpu - 10_000) % 2000);
        assertThat(j.get("peers")).isEmpty();
        assertThat(j.get("heartbeat_interval_ms").longValue()).isEqualTo(5000);
        assertThat(j.get("ttl_ms").longValue()).isEqualTo(15000);
        assertThat(j.get("version").longValue()).isEqualTo(1);

        Res b = node.register("{\"cores\": 2, \"storage_bytes\": 500}");
        assertThat(b.status()).isEqualTo(201);
        assertThat(b.json().get("peers")).hasSize(1);
        assertThat(b.json().at("/peers/0/id").asText()).isEqualTo(j.get("id").asText());

        Res again = node.registerAs(j.get("id").asText(), "{\"cores\": 4, \"memory_mb\": 2048, \"storage_bytes\": 1000, \"instance\": \"i-a\","
            + " \"services\": {\"pcpu\": 7000, \"ssh\": 22, \"transfer\": 7100, \"ws\": 8080}, \"labels\": {\"zone\": \"a\"}}");
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.json().get("id")).isEqualTo(j.get("id"));
        assertThat(again.json().get("ports")).isEqualTo(j.get("ports"));

        assertThat(node.get("/api/pcpu/count").json().get("vms").intValue()).isEqualTo(2);
        assertThat(node.get("/api/pcpu/count").json().get("cores").intValue()).isEqualTo(6);
        Res list = node.get("/api/vms");
        assertThat(list.json().get("vms")).hasSize(2);
        Res one = node.get("/api/vms/" + j.get("id").asText());
        assertThat(one.status()).isEqualTo(200);
        assertThat(one.json().at("/services/ssh").intValue()).isEqualTo(22);
        assertThat(one.json().at("/labels/zone").asText()).isEqualTo("a");
        Res ports = node.get("/api/ports");
        assertThat(ports.json().get("ports")).hasSize(2);
        assertThat(ports.json().get("capacity").intValue()).isEqualTo(1999);
        Res health = node.get("/api/health");
        assertThat(health.json().get("status").asText()).isEqualTo("ok");
        assertThat(health.json().get("version").longValue()).isEqualTo(2);
    }

    @Test
    void heartbeatAndLeave() {
        String id = node.register("{\"cores\": 1}").json().get("id").asText();
        Res hb = node.send("PUT", "/api/vms/" + id + "/heartbeat", "{\"load\": 0.5, \"cpu_percent\": 12.5}", node.secret(id));
        assertThat(hb.status()).as(hb.body()).isEqualTo(200);
        assertThat(node.get("/api/vms/" + id).json().get("load").doubleValue()).isEqualTo(0.5);
        assertThat(node.heartbeat(id).status()).as("empty body").isEqualTo(200);
        Res leave = node.send("DELETE", "/api/vms/" + id, null, node.secret(id));
        assertThat(leave.status()).isEqualTo(202);
        assertThat(leave.json().get("state").asText()).isEqualTo("draining");
        assertThat(node.get("/api/vms/" + id).json().get("state").asText()).isEqualTo("draining");
        assertThat(node.get("/api/pcpu/count").json().get("vms").intValue()).isZero();
    }

    @Test
    void meshHasEveryPairAndPages() {
        for (int i = 0; i < 5; i++) {
            assertThat(node.register("{\"cores\": 1}").status()).isEqualTo(201);
        }
        JsonNode all = node.get("/api/mesh").json();
        assertThat(all.get("nodes")).hasSize(5);
        assertThat(all.get("links_total").intValue()).isEqualTo(10);
        assertThat(all.get("links")).hasSize(10);
        assertThat(all.get("next_offset").isNull()).isTrue();
        List<String> paged = new ArrayList<>();
        String path = "/api/mesh?limit=3&offset=0";
        for (int page = 0; page < 10; page++) {
            JsonNode p = node.get(path).json();
            p.get("links").forEach(l -> paged.add(l.get(0).asText() + "-" + l.get(1).asText()));
            if (p.get("next_offset").isNull()) {
                break;
            }
            path = "/api/mesh?limit=3&offset=" + p.get("next_offset").longValue();
        }
        List<String> whole = new ArrayList<>();
        all.get("links").forEach(l -> whole.add(l.get(0).asText() + "-" + l.get(1).asText()));
        assertThat(paged).containsExactlyElementsOf(whole).doesNotHaveDuplicates();
    }

    @Test
    void dashboardIsServed() {
        Res r = node.get("/");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.raw().headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
        assertThat(r.body()).contains("Genesis");
    }

    @Test
    void missingOrWrongTokenIs401AndChangesNothing() {
        long v = node.version();
        Res none = node.send("POST", "/api/vms", "{\"cores\": 1}", null);
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.error()).contains("missing join token");
        assertThat(none.raw().headers().firstValue("www-authenticate")).isPresent();
        Res wrong = node.send("POST", "/api/vms", "{\"cores\": 1}", "not-the-token-at-all");
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(wrong.error()).isEqualTo("wrong join token");
        String id = node.register("{\"cores\": 1}").json().get("id").asText();
        assertThat(node.send("PUT", "/api/vms/" + id + "/heartbeat", null, "x").status()).isEqualTo(403);
        assertThat(node.send("PUT", "/api/vms/" + id + "/heartbeat", null, null).status()).isEqualTo(401);
        assertThat(node.send("DELETE", "/api/vms/" + id, null, null).status()).isEqualTo(401);
        assertThat(node.get("/api/vms/" + id).json().get("state").asText()).isEqualTo("active");
        assertThat(node.version()).isEqualTo(v + 1);
    }

    @Test
    void foreignIpIs403() {
        Res r = node.register("{\"cores\": 1, \"ip\": \"10.1.2.3\"}");
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.error()).contains("'ip'").contains("10.1.2.3").contains("127.0.0.1");
        assertThat(node.version()).isZero();
        assertThat(node.register("{\"cores\": 1, \"ip\": \"127.0.0.1\"}").status()).isEqualTo(201);
    }

    @Test
    void declaredIpAllowedWithTheFlag(@TempDir Path other) {
        try (Node nat = startNode(other, Clock.system(), Settings.defaults(), true)) {
            Res r = nat.register("{\"cores\": 1, \"ip\": \"10.1.2.3\"}");
            assertThat(r.status()).isEqualTo(201);
            assertThat(r.json().get("ip").asText()).isEqualTo("10.1.2.3");
        }
    }

    @Test
    void sourceAddressIsTheDefaultIpCurl() throws Exception {
        // curl from another loopback address: the registry records that address
        Procs.Result r = Procs.run(dir, null, Duration.ofSeconds(30), List.of("curl", "-sS", "--interface",
            "127.0.0.7", "-H", "Authorization: Bearer " + Node.TOKEN, "-d", "{\"cores\": 3}",
            node.base() + "/api/vms"));
        assertThat(r.code()).as(r.toString()).isZero();
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertThat(j.get("ip").asText()).isEqualTo("127.0.0.7");
        Procs.Result forged = Procs.run(dir, null, Duration.ofSeconds(30), List.of("curl", "-sS", "-o", "/dev/null",
            "-w", "%{http_code}", "--interface", "127.0.0.8", "-H", "Authorization: Bearer " + Node.TOKEN, "-d",
            "{\"cores\": 3, \"ip\": \"127.0.0.7\"}", node.base() + "/api/vms"));
        assertThat(forged.out()).isEqualTo("403");
    }

    @Test
    void aClientStillSendingAnOversizedBodyReadsItsError() {
        // The registry answers 413 as soon as the declared length is over the limit; closing then, with the body
        // still arriving, resets the connection and the client loses the answer ("header parser received no bytes").
        String big = "{\"cores\": 1, \"labels\": {\"x\": \"" + "a".repeat(4 << 20) + "\"}}";
        for (int i = 0; i < 10; i++) {
            Res r = node.register(big);
            assertThat(r.status()).as("attempt %d", i).isEqualTo(413);
            assertThat(r.error()).contains("64 KiB");
        }
    }

    @Test
    void bodyOver64KiBIs413AsJson() throws Exception {
        long v = node.version();
        String big = "{\"cores\": 1, \"labels\": {\"x\": \"" + "a".repeat(70_000) + "\"}}";
        Res r = node.register(big);
        assertThat(r.status()).isEqualTo(413);
        assertThat(r.error()).contains("64 KiB");
        // curl announces big bodies with Expect: 100-continue
        Path f = dir.resolve("big.json");
        java.nio.file.Files.writeString(f, big);
        Procs.Result c = Procs.run(dir, null, Duration.ofSeconds(30), List.of("curl", "-sS", "-w", "\n%{http_code}",
            "-H", "Authorization: Bearer " + Node.TOKEN, "-H", "Content-Type: application/json",
            "--data-binary", "@" + f, node.base() + "/api/vms"));
        assertThat(c.out()).endsWith("\n413").contains("\"error\"");
        // chunked, no length known up front
        try (Socket s = new Socket("127.0.0.1", node.genesis.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /api/vms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + Node.TOKEN
                + "\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = "b".repeat(40_000).getBytes(StandardCharsets.US_ASCII);
            try {
                for (int i = 0; i < 3; i++) {
                    out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(chunk);
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                out.flush();
            } catch (java.io.IOException closedEarly) {
                // the registry may close after its 413 before we finish writing
            }
            InputStream in = s.getInputStream();
            String head = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
            assertThat(head).isEqualTo("HTTP/1.1 413");
        }
        assertThat(node.version()).isEqualTo(v);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "malformed JSON             | {\"cores\": 1,                              | malformed JSON",
        "not an object              | [1, 2]                                      | must be a JSON object",
        "empty body                 |                                             | body required",
        "unknown field              | {\"cores\": 1, \"colour\": \"red\"}         | unknown field 'colour'",
        "cores missing              | {\"memory_mb\": 1}                          | field 'cores' is required",
        "cores as string            | {\"cores\": \"4\"}                          | field 'cores' must be an integer",
        "cores fractional           | {\"cores\": 4.5}                            | field 'cores' must be an integer",
        "cores zero                 | {\"cores\": 0}                              | field 'cores' is out of range",
        "cores too many             | {\"cores\": 1025}                           | field 'cores' is out of range",
        "cores huge                 | {\"cores\": 99999999999999999999999}        | field 'cores' is out of range",
        "memory negative            | {\"cores\": 1, \"memory_mb\": -1}           | field 'memory_mb' is out of range",
        "storage as bool            | {\"cores\": 1, \"storage_bytes\": true}     | field 'storage_bytes' must be an integer",
        "ip hostname                | {\"cores\": 1, \"ip\": \"example.com\"}     | field 'ip' must be an IPv4 or IPv6",
        "ip number                  | {\"cores\": 1, \"ip\": 1234}                | field 'ip' must be a string",
        "services array             | {\"cores\": 1, \"services\": [22]}          | field 'services' must be an object",
        "service port range         | {\"cores\": 1, \"services\": {\"ssh\": 70000}} | field 'services.ssh' must be a port",
        "service port string        | {\"cores\": 1, \"services\": {\"ssh\": \"22\"}} | field 'services.ssh' must be a port",
        "label value number         | {\"cores\": 1, \"labels\": {\"a\": 1}}      | field 'labels.a' must be a string",
        "instance bad chars         | {\"cores\": 1, \"instance\": \"a b\"}       | field 'instance' must be",
        "duplicate key              | {\"cores\": 1, \"cores\": 2}                | malformed JSON",
    })
    void badRegistrationIs400NamingTheField(String name, String body, String message) {
        long v = node.version();
        Res r = node.register(body == null ? "" : body);
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.error()).contains(message);
        assertThat(r.body()).doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(node.version()).as("nothing stored changed").isEqualTo(v);
        assertThat(node.get("/api/vms").json().get("vms")).isEmpty();
    }

    @Test
    void jsonNestedTooDeeplyIs400LikeAnyBadBody() {
        long v = node.version();
        // Jackson refuses nesting deeper than 1,000 levels with an error that has no location
        String deep = "{\"cores\": 1, \"labels\": " + "[".repeat(1_500) + "]".repeat(1_500) + "}";
        Res r = node.register(deep);
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.error()).contains("malformed JSON").contains("nesting depth");
        assertThat(node.register("[".repeat(2_000)).status()).isEqualTo(400);
        String id = node.register("{\"cores\": 1}").json().get("id").asText();
        Res hb = node.send("PUT", "/api/vms/" + id + "/heartbeat", "[".repeat(1_001) + "]".repeat(1_001), node.secret(id));
        assertThat(hb.status()).as(hb.body()).isEqualTo(400);
        assertThat(node.version()).isEqualTo(v + 1);
    }

    @Test
    void badHeartbeatBodyIs400NamingTheField() {
        String id = node.register("{\"cores\": 1}").json().get("id").asText();
        Res r = node.send("PUT", "/api/vms/" + id + "/heartbeat", "{\"cpu_percent\": 101}", node.secret(id));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.error()).contains("'cpu_percent'");
        Res u = node.send("PUT", "/api/vms/" + id + "/heartbeat", "{\"lod\": 1}", node.secret(id));
        assertThat(u.error()).contains("unknown field 'lod'");
    }

    @Test
    void unknownIdIs404() {
        assertThat(node.heartbeat("vm_abcdef").status()).isEqualTo(404);
        assertThat(node.heartbeat("vm_abcdef").error()).contains("register again");
        assertThat(node.send("DELETE", "/api/vms/vm_abcdef", null, Node.TOKEN).status()).isEqualTo(404);
        assertThat(node.get("/api/vms/vm_abcdef").status()).isEqualTo(404);
        assertThat(node.get("/api/vms/nonsense").status()).isEqualTo(404);
        assertThat(node.get("/api/nothing").status()).isEqualTo(404);
        assertThat(node.get("/api/nothing").error()).contains("not found");
    }

    @Test
    void wrongMethodIs405WithAllow() {
        Res r = node.send("DELETE", "/api/vms", null, Node.TOKEN);
        assertThat(r.status()).isEqualTo(405);
        assertThat(r.raw().headers().firstValue("allow")).hasValue("GET, POST");
        assertThat(node.send("POST", "/api/health", "{}", null).status()).isEqualTo(405);
        assertThat(node.send("GET", "/api/vms/vm_abcdef/heartbeat", null, null).status()).isEqualTo(405);
        assertThat(r.error()).contains("method not allowed");
    }

    @Test
    void badQueryIs400() {
        assertThat(node.get("/api/mesh?limit=abc").error()).contains("'limit'");
        assertThat(node.get("/api/mesh?limit=100000").error()).contains("'limit' is out of range");
        assertThat(node.get("/api/watch?since=-1").status()).isEqualTo(400);
    }

    @Test
    void fullRangeIs503() {
        // the clock stands still: on a slow machine 1,999 registrations can take longer than the TTL, and expired
        // VMs would then show up as "in their grace period" in the message
        node.close();
        node = startNode(dir.resolve("data-full"), new FakeClock(), Settings.defaults(), false);
        List<CompletableFuture<java.net.http.HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 1999; i++) {
            all.add(node.http.sendAsync(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(node.base() + "/api/vms")).timeout(Duration.ofSeconds(120))
                .header("Authorization", "Bearer " + Node.TOKEN)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"cores\": 1}")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()));
            if (all.size() % 200 == 0) {
                all.forEach(CompletableFuture::join); // bounded concurrency
            }
        }
        all.forEach(f -> assertThat(f.join().statusCode()).isEqualTo(201));
        long v = node.version();
        Res r = node.register("{\"cores\": 1}");
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.error()).isEqualTo("port range full: transfer 30001-31999 has no free port (1,999 VMs hold ports)");
        assertThat(node.version()).isEqualTo(v);
        JsonNode ports = node.get("/api/ports").json();
        assertThat(ports.get("held").intValue()).isEqualTo(1999);
        java.util.Set<Integer> transfer = new java.util.HashSet<>();
        ports.get("ports").forEach(p -> transfer.add(p.get("transfer").intValue()));
        assertThat(transfer).hasSize(1999).doesNotContain(30_000);
    }

    @Test
    void malformedHttpGetsAJson400() throws Exception {
        try (Socket s = new Socket("127.0.0.1", node.genesis.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GARBAGE\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            String resp = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(resp).startsWith("HTTP/1.1 400").contains("{\"error\"");
        }
    }
}
