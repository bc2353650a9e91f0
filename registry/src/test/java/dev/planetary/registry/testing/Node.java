package dev.planetary.registry.testing;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.core.ports.PortPlan;
import dev.planetary.registry.Genesis;
import dev.planetary.registry.Json;
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

    public static Node start(Path dir) {
        return start(dir, Clock.system(), Settings.defaults(), false);
    }

    public String base() {
        return "http://127.0.0.1:" + genesis.port();
    }

    public Res send(String method, String path, String body, String token) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(30))
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
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

    public Res register(String body) {
        return send("POST", "/api/vms", body, TOKEN);
    }

    public Res heartbeat(String id) {
        return send("PUT", "/api/vms/" + id + "/heartbeat", null, TOKEN);
    }

    public long version() {
        return get("/api/health").json().get("version").longValue();
    }

    @Override
    public void close() {
        genesis.close();
    }
}
