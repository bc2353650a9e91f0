package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaded jar as a user runs it, in a child process: the generated token (printed once, stored 0600), and a
 * restart after SIGKILL during a burst of registrations: every acknowledged VM, its ports and the version are back,
 * heartbeats continue without registering again, and versions go on from where they were.
 */
class RegistryJarIT {

    private static final String TOKEN = "it-token-0123456789abcdef";
    private static Path jar;
    private static String javaBin;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Process> started = new ArrayList<>();

    @TempDir
    Path dir;

    @BeforeAll
    static void locate() {
        jar = Launcher.builtJar();
        assertThat(jar).isRegularFile();
        javaBin = Launcher.java();
    }

    @AfterEach
    void tearDown() {
        started.forEach(Procs::killNow);
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    private Procs.Running start(int port, Path data, String token) {
        List<String> cmd = new ArrayList<>(List.of(javaBin, "-Xmx256m", "-jar", jar.toString(), "--listen",
            "127.0.0.1:" + port, "--data-dir", data.toString()));
        Procs.Running r = startWithEnv(cmd, token);
        started.add(r.process());
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
            .until(() -> get(port, "/api/health").statusCode() == 200);
        return r;
    }

    private Procs.Running startWithEnv(List<String> cmd, String token) {
        Path out = dir.resolve("reg-" + started.size() + ".out");
        Path err = dir.resolve("reg-" + started.size() + ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put(Token.ENV, token);
        try {
            return new Procs.Running(pb.start(), out, err);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest.Builder authed(int port, String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + TOKEN);
    }

    @Test
    void generatedTokenIsPrintedOnceAndStored0600() throws Exception {
        Path data = dir.resolve("gen");
        int port = freePort();
        List<String> cmd = List.of(javaBin, "-Xmx256m", "-jar", jar.toString(), "--listen", "127.0.0.1:" + port,
            "--data-dir", data.toString());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(dir.resolve("g1.out").toFile())
            .redirectError(dir.resolve("g1.err").toFile());
        pb.environment().remove(Token.ENV);
        Process p = pb.start();
        started.add(p);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
            .until(() -> get(port, "/api/health").statusCode() == 200);
        String out = Files.readString(dir.resolve("g1.out"));
        assertThat(out).startsWith("GENESIS_TOKEN=");
        String token = out.lines().findFirst().orElseThrow().substring("GENESIS_TOKEN=".length());
        assertThat(Files.readString(data.resolve("token")).trim()).isEqualTo(token);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("token"))))
            .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data))).isEqualTo("rwx------");
        p.destroy();
        assertThat(p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        Process p2 = pb.redirectOutput(dir.resolve("g2.out").toFile()).redirectError(dir.resolve("g2.err").toFile())
            .start();
        started.add(p2);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
            .until(() -> get(port, "/api/health").statusCode() == 200);
        assertThat(Files.readString(dir.resolve("g2.out"))).doesNotContain(token);
        assertThat(Files.readString(dir.resolve("g2.err"))).doesNotContain(token);
    }

    @Test
    void everythingIsBackAfterSigkill() throws Exception {
        Path data = dir.resolve("data");
        int port = freePort();
        Procs.Running first = start(port, data, TOKEN);
        // 200 registrations in flight at once; SIGKILL while they land
        List<CompletableFuture<HttpResponse<String>>> regs = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            regs.add(http.sendAsync(authed(port, "/api/vms").POST(HttpRequest.BodyPublishers.ofString(
                "{\"cores\": 2, \"storage_bytes\": 100, \"instance\": \"inst-" + i + "\"}")).build(),
                HttpResponse.BodyHandlers.ofString()));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> regs.stream().filter(CompletableFuture::isDone).count() >= 100);
        first.process().destroyForcibly(); // SIGKILL
        assertThat(first.process().waitFor(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        Map<String, JsonNode> acked = new HashMap<>();
        long maxVersion = 0;
        for (CompletableFuture<HttpResponse<String>> f : regs) {
            try {
                HttpResponse<String> r = f.get(30, java.util.concurrent.TimeUnit.SECONDS);
                if (r.statusCode() == 201) {
                    JsonNode j = Json.MAPPER.readTree(r.body());
                    acked.put(j.get("id").asText(), j);
                    maxVersion = Math.max(maxVersion, j.get("version").longValue());
                }
            } catch (java.util.concurrent.ExecutionException e) {
                // cut off by the kill: not acknowledged, may or may not be on disk
            }
        }
        assertThat(acked).hasSizeGreaterThanOrEqualTo(100);

        start(port, data, TOKEN);
        JsonNode all = Json.MAPPER.readTree(get(port, "/api/vms").body());
        Map<String, JsonNode> back = new HashMap<>();
        all.get("vms").forEach(v -> back.put(v.get("id").asText(), v));
        for (Map.Entry<String, JsonNode> e : acked.entrySet()) {
            assertThat(back).as("acknowledged VM %s is back", e.getKey()).containsKey(e.getKey());
            assertThat(back.get(e.getKey()).get("ports")).isEqualTo(e.getValue().get("ports"));
        }
        long version = all.get("version").longValue();
        assertThat(version).isGreaterThanOrEqualTo(maxVersion).isEqualTo(back.size());
        // heartbeats continue without registering again
        String someId = acked.keySet().iterator().next();
        // with the VM's own secret, which the registration returned and the data dir keeps (hashed)
        HttpResponse<String> hb = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/vms/"
                + someId + "/heartbeat")).timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + acked.get(someId).get("secret").asText())
            .PUT(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(hb.statusCode()).isEqualTo(200);
        // the same instance key gets the same id and ports
        JsonNode again = Json.MAPPER.readTree(http.send(authed(port, "/api/vms")
            .header("Genesis-Secret", acked.get(someId).get("secret").asText()).POST(HttpRequest.BodyPublishers
            .ofString("{\"cores\": 2, \"storage_bytes\": 100, \"instance\": \"" + acked.get(someId).get("instance")
                .asText() + "\"}")).build(), HttpResponse.BodyHandlers.ofString()).body());
        assertThat(again.get("id").asText()).isEqualTo(someId);
        // versions go on
        HttpResponse<String> fresh = http.send(authed(port, "/api/vms").POST(HttpRequest.BodyPublishers.ofString(
            "{\"cores\": 1}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(fresh.statusCode()).isEqualTo(201);
        assertThat(Json.MAPPER.readTree(fresh.body()).get("version").longValue()).isEqualTo(version + 1);
        assertThat(Files.readString(dir.resolve("reg-0.err")) + Files.readString(dir.resolve("reg-1.err")))
            .doesNotContain("Exception");
    }
}
