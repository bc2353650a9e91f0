package dev.planetary.swarm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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

/**
 * Debian's headless Chromium driven through chromedriver's WebDriver HTTP API with the JDK client: open a page, run
 * scripts in it. chromedriver listens on a free port above the proxy's ranges (port 0: the ephemeral range).
 */
final class HeadlessChromium implements AutoCloseable {

    static final Duration WAIT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10)).build();
    private final Procs.Running driver;
    private final String base;
    private final String session;

    private HeadlessChromium(Procs.Running driver, String base, Path profile) throws Exception {
        this.driver = driver;
        this.base = base;
        ObjectNode caps = JSON.createObjectNode();
        ObjectNode opts = caps.putObject("capabilities").putObject("alwaysMatch").putObject("goog:chromeOptions");
        opts.put("binary", "/usr/bin/chromium");
        var args = opts.putArray("args");
        for (String a : List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
            "--user-data-dir=" + profile)) {
            args.add(a);
        }
        this.session = call("POST", "/session", caps).get("sessionId").asText();
    }

    static HeadlessChromium start(Path dir) throws Exception {
        assertThat(Path.of("/usr/bin/chromium")).as("Debian's chromium package (.ci/run installs it)").exists();
        assertThat(Path.of("/usr/bin/chromedriver")).as("Debian's chromium-driver package").exists();
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        Procs.Running cd = Procs.start(Files.createDirectories(dir.resolve("chromedriver")), null,
            List.of("/usr/bin/chromedriver", "--port=" + port, "--allowed-ips=127.0.0.1"));
        String base = "http://127.0.0.1:" + port;
        HttpClient probe = HttpClient.newHttpClient();
        try {
            await("chromedriver ready").atMost(WAIT).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                .failFast("chromedriver exited", () -> !cd.process().isAlive())
                .until(() -> probe.send(HttpRequest.newBuilder(URI.create(base + "/status")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
            return new HeadlessChromium(cd, base, Files.createDirectories(dir.resolve("profile")));
        } catch (Exception | AssertionError e) {
            Procs.kill(cd.process());
            throw new AssertionError("chromedriver did not start; its output:\n" + cd.output(), e);
        }
    }

    private JsonNode call(String method, String path, JsonNode body) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create(base + path)).timeout(WAIT)
            .header("Content-Type", "application/json")
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build();
        HttpResponse<String> res = http.send(r, HttpResponse.BodyHandlers.ofString());
        assertThat(res.statusCode()).as("%s %s: %s", method, path, res.body()).isEqualTo(200);
        return JSON.readTree(res.body()).get("value");
    }

    void open(String url) throws Exception {
        ObjectNode nav = JSON.createObjectNode();
        nav.put("url", url);
        call("POST", "/session/" + session + "/url", nav);
    }

    /** Runs {@code js} (a function body that returns a value) in the page; the value as text. */
    String script(String js) throws Exception {
        ObjectNode b = JSON.createObjectNode();
        b.put("script", js);
        b.putArray("args");
        return call("POST", "/session/" + session + "/execute/sync", b).asText();
    }

    String output() {
        return driver.output();
    }

    @Override
    public void close() {
        try {
            call("DELETE", "/session/" + session, null);
        } catch (Exception | AssertionError e) {
            // the driver is stopped next anyway
        }
        Procs.kill(driver.process());
    }
}
