package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.FakeClock;
import dev.planetary.registry.testing.Node;
import dev.planetary.testkit.Procs;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard in Debian's headless Chromium, driven through chromedriver's WebDriver HTTP API with the JDK client:
 * a VM registered before the page loads and one registered while it is open both appear, without a reload.
 */
class DashboardChromiumTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10)).build();
    private String driver;

    @TempDir
    Path dir;

    private JsonNode call(String method, String path, JsonNode body) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create(driver + path)).timeout(WAIT)
            .header("Content-Type", "application/json")
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(Json.bytes(body))).build();
        HttpResponse<String> res = http.send(r, HttpResponse.BodyHandlers.ofString());
        JsonNode j = Json.MAPPER.readTree(res.body());
        assertThat(res.statusCode()).as("%s %s: %s", method, path, res.body()).isEqualTo(200);
        return j.get("value");
    }

    private String script(String session, String js) throws Exception {
        ObjectNode b = Json.object();
        b.put("script", js);
        b.putArray("args");
        return call("POST", "/session/" + session + "/execute/sync", b).asText();
    }

    /**
     * chromedriver on a free loopback port. It binds the port on 127.0.0.1 and on ::1 and exits when either is
     * taken; a port free when picked can be taken by another program before the driver binds it, so a start that
     * fails that way is retried on another port (at most 3 times).
     */
    private Procs.Running startDriver() throws Exception {
        for (int attempt = 1; ; attempt++) {
            int port = freePort();
            driver = "http://127.0.0.1:" + port;
            Procs.Running cd = Procs.start(Files.createDirectories(dir.resolve("driver-" + attempt)), null,
                List.of("/usr/bin/chromedriver", "--port=" + port, "--allowed-ips=127.0.0.1"));
            try {
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                    .failFast("chromedriver exited", () -> !cd.process().isAlive())
                    .until(() -> call("GET", "/status", null).get("ready").booleanValue());
                return cd;
            } catch (ConditionTimeoutException | TerminalFailureException e) {
                Procs.kill(cd.process());
                String out = cd.output();
                if (attempt == 3 || !(out.contains("already in use") || out.contains("port not available"))) {
                    throw new AssertionError("chromedriver did not start; its output:\n" + out, e);
                }
            }
        }
    }

    /** A port free on both 127.0.0.1 and ::1 right now. */
    private static int freePort() throws Exception {
        for (int i = 0; i < 20; i++) {
            try (ServerSocket v4 = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
                int port = v4.getLocalPort();
                try (ServerSocket v6 = new ServerSocket(port, 1, InetAddress.getByName("::1"))) {
                    return port;
                } catch (java.net.BindException e) {
                    if (!String.valueOf(e.getMessage()).contains("in use")) {
                        return port; // no IPv6 loopback here: the driver binds IPv4 only
                    }
                }
            }
        }
        throw new IllegalStateException("no port free on both 127.0.0.1 and ::1 in 20 tries");
    }

    @Test
    void dashboardShowsVmsLiveInHeadlessChromium() throws Exception {
        assertThat(Path.of("/usr/bin/chromium")).as("Debian's chromium package (.ci/run installs it)").exists();
        assertThat(Path.of("/usr/bin/chromedriver")).as("Debian's chromium-driver package").exists();
        Path profile = Files.createDirectories(dir.resolve("profile"));
        // a test clock: drains, grace periods and their `released` events happen when the test moves it
        FakeClock clock = new FakeClock();
        Settings settings = new Settings(Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(10),
            Duration.ofSeconds(5));
        try (Node node = Node.start(dir.resolve("data"), clock, settings, false)) {
            String before = node.register("{\"cores\": 6, \"storage_bytes\": 1073741824}").json().get("id").asText();
            Procs.Running cd = startDriver();
            String session = null;
            try {
                ObjectNode caps = Json.object();
                ObjectNode opts = caps.putObject("capabilities").putObject("alwaysMatch")
                    .putObject("goog:chromeOptions");
                opts.put("binary", "/usr/bin/chromium");
                var args = opts.putArray("args");
                for (String a : List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--user-data-dir=" + profile)) {
                    args.add(a);
                }
                session = call("POST", "/session", caps).get("sessionId").asText();
                ObjectNode nav = Json.object();
                nav.put("url", node.base() + "/");
                call("POST", "/session/" + session + "/url", nav);
                String s = session;
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() ->
                    script(s, "return document.querySelector('#vms tr[data-id=\"" + before + "\"]') ? 'y' : 'n'")
                        .equals("y"));
                assertThat(script(s, "return document.getElementById('cores').textContent")).isEqualTo("6");
                assertThat(script(s, "return document.getElementById('storage').textContent")).isEqualTo("1.0 GiB");
                script(s, "window.__marker = 'same page'; return ''");

                String after = node.register("{\"cores\": 2}").json().get("id").asText();
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() ->
                    script(s, "return document.querySelector('#vms tr[data-id=\"" + after + "\"]') ? 'y' : 'n'")
                        .equals("y"));
                assertThat(script(s, "return document.getElementById('cores').textContent")).isEqualTo("8");
                assertThat(script(s, "return document.getElementById('vm-count').textContent")).isEqualTo("2");
                assertThat(script(s, "return String(document.querySelectorAll('#mesh circle').length)")).isEqualTo("2");
                assertThat(script(s, "return String(document.querySelectorAll('#mesh line').length)")).isEqualTo("1");
                assertThat(script(s, "return document.querySelector('#ports tr[data-id=\"" + after
                    + "\"]').textContent")).contains(String.valueOf(
                        node.get("/api/vms/" + after).json().at("/ports/pcpu").intValue()));
                assertThat(script(s, "return window.__marker")).as("no reload happened").isEqualTo("same page");

                node.send("DELETE", "/api/vms/" + after, null, node.secret(after));
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() ->
                    script(s, "return document.getElementById('cores').textContent").equals("6"));

                // drained and removed: its ports stay in the table, in their grace period...
                clock.advance(Duration.ofSeconds(11));
                assertThat(node.heartbeat(before).status()).isEqualTo(200);
                String portRow = "return (document.querySelector('#ports tr[data-id=\"" + after
                    + "\"]') || {className: 'none'}).className";
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> script(s, portRow).equals("grace"));
                assertThat(script(s, "return String(document.querySelectorAll('#vms tr').length)")).isEqualTo("1");
                // ...until the `released` event (grace expired) takes them out
                clock.advance(Duration.ofSeconds(6));
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> script(s, portRow).equals("none"));
                assertThat(script(s, "return String(document.querySelectorAll('#ports tr').length)")).isEqualTo("1");
                assertThat(script(s, "return document.getElementById('version').textContent"))
                    .isEqualTo(String.valueOf(node.version()));
                assertThat(script(s, "return window.__marker")).as("no reload happened").isEqualTo("same page");
            } catch (Exception | AssertionError e) {
                throw new AssertionError("dashboard test failed; chromedriver output:\n" + cd.output(), e);
            } finally {
                if (session != null) {
                    try {
                        call("DELETE", "/session/" + session, null);
                    } catch (Exception | AssertionError e) {
                        // the driver is stopped next anyway
                    }
                }
                Procs.kill(cd.process());
            }
        }
    }
}
