package dev.planetary.proxy.stats.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Procs;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stats page in Debian's headless Chromium, driven through chromedriver's WebDriver HTTP API (as the registry's
 * dashboard test): the browser logs in with basic auth, the page renders a table per proxy with every server, the
 * rows carry HAProxy's colours as the browser computes them (UP green, DOWN red, MAINT brown), and a screenshot is
 * written to {@code target/stats-page.png} for a human to look at.
 */
class StatsPageChromiumTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10)).build();
    private String driver;

    @TempDir
    Path dir;

    private JsonNode call(String method, String path, JsonNode body) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create(driver + path)).timeout(WAIT)
            .header("Content-Type", "application/json")
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build();
        HttpResponse<String> res = http.send(r, HttpResponse.BodyHandlers.ofString());
        JsonNode j = JSON.readTree(res.body());
        assertThat(res.statusCode()).as("%s %s: %s", method, path, res.body()).isEqualTo(200);
        return j.get("value");
    }

    private String script(String session, String js) throws Exception {
        ObjectNode b = JSON.createObjectNode();
        b.put("script", js);
        b.putArray("args");
        return call("POST", "/session/" + session + "/execute/sync", b).asText();
    }

    /** chromedriver on a free loopback port, retried on another port when it loses a race for one (3 times). */
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

    /** A port free on both 127.0.0.1 and ::1 (chromedriver binds both). */
    private static int freePort() throws Exception {
        for (int i = 0; i < 20; i++) {
            try (ServerSocket v4 = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
                int port = v4.getLocalPort();
                try (ServerSocket v6 = new ServerSocket(port, 1, InetAddress.getByName("::1"))) {
                    return port;
                } catch (java.net.BindException e) {
                    if (!String.valueOf(e.getMessage()).contains("in use")) {
                        return port;
                    }
                }
            }
        }
        throw new IllegalStateException("no port free on both 127.0.0.1 and ::1 in 20 tries");
    }

    @Test
    void pageRendersTablesAndStateColoursInHeadlessChromium() throws Exception {
        assertThat(Path.of("/usr/bin/chromium")).as("Debian's chromium package (.ci/run installs it)").exists();
        assertThat(Path.of("/usr/bin/chromedriver")).as("Debian's chromium-driver package").exists();
        Path profile = Files.createDirectories(dir.resolve("profile"));
        try (Backends backends = new Backends()) {
            Backends.TestServer s1 = backends.named("s1");
            int front = Ports.pcpu();
            int page = Ports.pcpu();
            int dead = Ports.pcpu();
            Proxy proxy = Harness.start(StatsPageCurlTest.config(front, s1.port(), dead, page));
            Procs.Running cd = null;
            String session = null;
            try {
                await().atMost(WAIT).until(() -> proxy.backend("pcpu").servers().stream()
                    .filter(s -> s.name().equals("s2")).noneMatch(s -> s.up()));
                try (Socket c = Harness.connect(front)) {
                    assertThat(Harness.readLine(c)).isEqualTo("s1");
                }
                cd = startDriver();
                ObjectNode caps = JSON.createObjectNode();
                ObjectNode opts = caps.putObject("capabilities").putObject("alwaysMatch")
                    .putObject("goog:chromeOptions");
                opts.put("binary", "/usr/bin/chromium");
                var args = opts.putArray("args");
                for (String a : List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--window-size=1600,900", "--user-data-dir=" + profile)) {
                    args.add(a);
                }
                session = call("POST", "/session", caps).get("sessionId").asText();
                ObjectNode nav = JSON.createObjectNode();
                // basic auth in the URL: Chromium sends it as an Authorization header on the first request
                nav.put("url", "http://admin:" + StatsPageCurlTest.PASSWORD + "@127.0.0.1:" + page + "/");
                call("POST", "/session/" + session + "/url", nav);
                String s = session;
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() ->
                    script(s, "return document.querySelector('#px-pcpu') ? 'y' : 'n'").equals("y"));
                assertThat(script(s, "return document.title")).isEqualTo("Statistics Report for Planetary");
                assertThat(script(s, "return String(document.querySelectorAll('table.tbl').length)")).isEqualTo("1");
                assertThat(script(s, "return Array.from(document.querySelectorAll('#px-pcpu tr[data-name]'))"
                    + ".map(r => r.dataset.name).join(',')")).isEqualTo("FRONTEND,s1,s2,s3,BACKEND");
                String colour = "return getComputedStyle(document.querySelector('#px-pcpu tr[data-name=\"%s\"]'))"
                    + ".backgroundColor";
                assertThat(script(s, colour.formatted("s1"))).as("UP: green").isEqualTo("rgb(192, 255, 192)");
                assertThat(script(s, colour.formatted("s2"))).as("DOWN: red").isEqualTo("rgb(255, 144, 144)");
                assertThat(script(s, colour.formatted("s3"))).as("MAINT: brown").isEqualTo("rgb(192, 120, 32)");
                assertThat(script(s, colour.formatted("FRONTEND"))).isEqualTo("rgb(232, 232, 208)");
                assertThat(script(s, "return document.querySelector('#px-pcpu tr[data-name=\"s1\"]').cells[10]"
                    + ".textContent")).as("s1's session total, column Sessions/Total").isEqualTo("1");
                assertThat(script(s, "return document.getElementById('genesis').textContent")).contains("Genesis");
                // the page fits the window's width: nothing wider than the body
                assertThat(Integer.parseInt(script(s, "return String(document.documentElement.scrollWidth)")))
                    .isLessThanOrEqualTo(1600);
                String png = call("GET", "/session/" + s + "/screenshot", null).asText();
                byte[] bytes = Base64.getDecoder().decode(png);
                assertThat(bytes).startsWith(0x89, 'P', 'N', 'G');
                Path out = Path.of("target", "stats-page.png");
                Files.createDirectories(out.getParent());
                Files.write(out, bytes);
            } catch (Exception | AssertionError e) {
                throw new AssertionError("stats page test failed; chromedriver output:\n"
                    + (cd == null ? "(not started)" : cd.output()), e);
            } finally {
                if (session != null) {
                    try {
                        call("DELETE", "/session/" + session, null);
                    } catch (Exception | AssertionError e) {
                        // the driver is stopped next anyway
                    }
                }
                if (cd != null) {
                    Procs.kill(cd.process());
                }
                proxy.close();
            }
        }
    }
}
