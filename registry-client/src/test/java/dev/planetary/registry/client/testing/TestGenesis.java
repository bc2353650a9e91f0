package dev.planetary.registry.client.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.planetary.registry.Genesis;
import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Settings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;

/**
 * A real Genesis in the test's JVM on 127.0.0.1, restartable on the same port and data dir, and a JDK HTTP client
 * for it (registrations from 127.0.0.1 with a declared ip, reads).
 */
public final class TestGenesis implements AutoCloseable {

    public static final String TOKEN = "client-test-token-0123456789";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** A reply: status and body as JSON (null when not JSON). */
    public record Res(int status, JsonNode json, String body) {
    }

    private final Path dir;
    private final Settings settings;
    private final int port;
    private Genesis genesis;
    /** The secrets {@link #register} got, by VM id: its heartbeats and leaves through {@link #send} use them. */
    private final java.util.Map<String, String> secrets = new java.util.concurrent.ConcurrentHashMap<>();
    /** The same by instance key: registering a known instance again presents its secret. */
    private final java.util.Map<String, String> instanceSecrets = new java.util.concurrent.ConcurrentHashMap<>();
    private static final java.util.regex.Pattern VM_CHANGE =
        java.util.regex.Pattern.compile("/api/vms/(vm_[0-9a-f]{6})(/heartbeat)?");
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();

    private TestGenesis(Path dir, Settings settings, int port) {
        this.dir = dir;
        this.settings = settings;
        this.port = port;
    }

    /** Fast liveness for tests: heartbeat 100 ms, TTL 2 s, the given drain period, grace 60 s. */
    public static Settings settings(Duration drain) {
        return new Settings(Duration.ofMillis(100), Duration.ofSeconds(2), drain, Duration.ofSeconds(60));
    }

    public static TestGenesis start(Path dir, Settings settings) {
        TestGenesis g = new TestGenesis(dir, settings, freePort());
        g.restart();
        return g;
    }

    /** On a given port (another instance taking over the same data, as a second Genesis on one store). */
    public static TestGenesis startOn(Path dir, Settings settings, int port) {
        TestGenesis g = new TestGenesis(dir, settings, port);
        g.restart();
        return g;
    }

    /** A port free right now on 127.0.0.1 (the restart binds it again). */
    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts it (again) on the same port and data dir. */
    public void restart() {
        if (genesis != null) {
            throw new IllegalStateException("running");
        }
        try {
            genesis = Genesis.start(new Genesis.Options(new InetSocketAddress("127.0.0.1", port), null, dir,
                settings, true, TOKEN), Clock.system(), new SecureRandom(), why -> { });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops it (the port closes: clients see Genesis go away). */
    public void stop() {
        if (genesis != null) {
            genesis.close();
            genesis = null;
        }
    }

    public int port() {
        return port;
    }

    public URI uri() {
        return URI.create("http://127.0.0.1:" + port);
    }

    public Genesis genesis() {
        return genesis;
    }

    /**
     * With the join token (reads then show instance keys), or for the heartbeat and leave of a VM that {@link
     * #register} registered, with that VM's secret.
     */
    public Res send(String method, String path, String body) {
        return send(method, path, body, java.util.Map.of());
    }

    private Res send(String method, String path, String body, java.util.Map<String, String> headers) {
        java.util.regex.Matcher m = VM_CHANGE.matcher(path);
        String credential = !method.equals("GET") && m.matches() && secrets.containsKey(m.group(1))
            ? secrets.get(m.group(1)) : TOKEN;
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(uri() + path)).timeout(Duration.ofSeconds(30))
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body))
            .header("Authorization", "Bearer " + credential);
        headers.forEach(b::header);
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            JsonNode json = null;
            try {
                json = MAPPER.readTree(r.body());
            } catch (IOException ignored) {
                // not JSON
            }
            return new Res(r.statusCode(), json, r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Registers a VM with a declared ip; returns its id. */
    public String register(String ip, String services, String instance) {
        String known = instance == null ? null : instanceSecrets.get(instance);
        Res r = send("POST", "/api/vms", "{\"cores\": 2, \"ip\": \"" + ip + "\", \"services\": " + services
            + (instance == null ? "" : ", \"instance\": \"" + instance + "\"") + "}",
            known == null ? java.util.Map.of() : java.util.Map.of("Genesis-Secret", known));
        if (r.status() != 201 && r.status() != 200) {
            throw new AssertionError("register: " + r.status() + " " + r.body());
        }
        if (r.json().hasNonNull("secret")) {
            secrets.put(r.json().get("id").asText(), r.json().get("secret").asText());
            if (instance != null) {
                instanceSecrets.put(instance, r.json().get("secret").asText());
            }
        }
        return r.json().get("id").asText();
    }

    /**
     * Makes VM {@code id} leave as Genesis' owner would (its writer; no credential): for a VM whose secret only its
     * agent holds. Returns once durable.
     */
    public void leave(String id) {
        try {
            genesis.writer().submit((reg, now, wall) -> reg.leave(id, now), true).get(30,
                java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("leave " + id, e);
        }
    }

    public JsonNode vm(String id) {
        Res r = send("GET", "/api/vms/" + id, null);
        return r.status() == 200 ? r.json() : null;
    }

    public long version() {
        return send("GET", "/api/health", null).json().get("version").longValue();
    }

    @Override
    public void close() {
        stop();
    }
}
