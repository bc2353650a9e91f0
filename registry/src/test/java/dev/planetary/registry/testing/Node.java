package dev.planetary.registry.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.core.ports.PortPlan;
import dev.planetary.registry.Genesis;
import dev.planetary.registry.Json;
import dev.planetary.registry.etcd.EtcdTarget;
import dev.planetary.registry.http.HttpLimits;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Settings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;

/** An in-process registry on 127.0.0.1 (port 0) and a JDK HTTP client for it. */
public final class Node implements AutoCloseable {

    public static final String TOKEN = "test-token-0123456789abcdef";

    /** A response: status, raw body, and the body as JSON (null when it is not JSON). */
    public record Res(int status, String body, JsonNode json, HttpResponse<String> raw) {
        public String error() {
            return json == null ? null : json.path("error").asText(null);
        }
    }

    public final Genesis genesis;
    /** The secret each VM's registration returned through {@link #register}: heartbeats and leaves send it. */
    public final Map<String, String> secrets = new ConcurrentHashMap<>();
    public final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private Node(Genesis g) {
        this.genesis = g;
    }

    public static Node start(Path dir, Clock clock, Settings settings, boolean allowDeclaredIp) {
        try {
            return new Node(Genesis.start(new Genesis.Options(new InetSocketAddress("127.0.0.1", 0), null, dir,
                settings, allowDeclaredIp, TOKEN), clock, new SecureRandom(), why -> { }));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** With a port plan and the log-repair switch; the start's IOException as is (tests of refused starts). */
    public static Node start(Path dir, Clock clock, Settings settings, PortPlan plan, boolean repairLog)
        throws IOException {
        return new Node(Genesis.start(new Genesis.Options(new InetSocketAddress("127.0.0.1", 0), null, dir, settings,
            false, TOKEN, plan, repairLog), clock, new SecureRandom(), why -> { }));
    }

    /** With HTTP limits (short timeouts, small caps) and a clock. */
    public static Node start(Path dir, Clock clock, Settings settings, HttpLimits limits) {
        try {
            return new Node(Genesis.start(new Genesis.Options(new InetSocketAddress("127.0.0.1", 0), null, dir,
                settings, false, TOKEN, PortPlan.DEFAULT, false, limits), clock, new SecureRandom(), why -> { }));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** With HTTP limits and a clock, on etcd. */
    public static Node start(Path dir, Clock clock, Settings settings, HttpLimits limits, EtcdTarget target) {
        try {
            return new Node(Genesis.start(new Genesis.Options(new InetSocketAddress("127.0.0.1", 0), null, dir,
                settings, false, TOKEN, PortPlan.DEFAULT, false, limits).withEtcd(target), clock, new SecureRandom(),
                why -> { }));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** On etcd ({@code --store etcd}): the registry under {@code target}'s prefix; {@code dir} holds nothing. */
    public static Node startOnEtcd(Path dir, EtcdTarget target, Clock clock, Settings settings,
                                   boolean allowDeclaredIp) {
        try {
            return new Node(Genesis.start(new Genesis.Options(new InetSocketAddress("127.0.0.1", 0), null, dir,
                settings, allowDeclaredIp, TOKEN).withEtcd(target), clock, new SecureRandom(), why -> { }));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** With the default settings and a watch resume's catch-up wait of {@code catchUp} (local store, or etcd). */
    public static Node start(Path dir, EtcdTarget etcd, Duration catchUp) {
        try {
            Genesis.Options o = new Genesis.Options(new InetSocketAddress("127.0.0.1", 0), null, dir,
                Settings.defaults(), false, TOKEN).withEtcd(etcd).withCatchUp(catchUp);
            return new Node(Genesis.start(o, Clock.system(), new SecureRandom(), why -> { }));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Node start(Path dir) {
        return start(dir, Clock.system(), Settings.defaults(), false);
    }

    public String base() {
        return "http://127.0.0.1:" + genesis.port();
    }

    public Res send(String method, String path, String body, String token) {
        return send(method, path, body, token, Map.of());
    }

    /** With extra headers. */
    public Res send(String method, String path, String body, String token, Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(30))
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        headers.forEach(b::header);
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            JsonNode json = null;
            try {
                json = Json.MAPPER.readTree(r.body());
            } catch (IOException ignored) {
                // not JSON (the dashboard)
            }
            return new Res(r.statusCode(), r.body(), json, r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public Res get(String path) {
        return send("GET", path, null, null);
    }

    /** Registers with the join token; a secret in the answer is kept for the VM's heartbeats and leave. */
    public Res register(String body) {
        return register(body, Map.of());
    }

    /** Registers again as the holder of VM {@code id}'s secret (header Genesis-Secret). */
    public Res registerAs(String id, String body) {
        return register(body, Map.of(dev.planetary.registry.state.Registry.SECRET_HEADER, secret(id)));
    }

    private Res register(String body, Map<String, String> headers) {
        Res r = send("POST", "/api/vms", body, TOKEN, headers);
        if (r.json() != null && r.json().hasNonNull("secret")) {
            secrets.put(r.json().get("id").asText(), r.json().get("secret").asText());
        }
        return r;
    }

    /** The VM's secret from its registration (the join token when none was seen: such requests are refused). */
    public String secret(String id) {
        return secrets.getOrDefault(id, TOKEN);
    }

    public Res heartbeat(String id) {
        return send("PUT", "/api/vms/" + id + "/heartbeat", null, secret(id));
    }

    public Res leave(String id) {
        return send("DELETE", "/api/vms/" + id, null, secret(id));
    }

    public long version() {
        return get("/api/health").json().get("version").longValue();
    }

    @Override
    public void close() {
        genesis.close();
    }
}
