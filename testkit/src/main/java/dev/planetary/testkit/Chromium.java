package dev.planetary.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

/**
 * Debian's headless Chromium driven through chromedriver's WebDriver HTTP API with the JDK client: one driver
 * process and one browser session per instance, for the page tests (the registry's dashboard, the proxy's stats page).
 */
public final class Chromium implements AutoCloseable {

    /** Longest wait for the driver to start and for one WebDriver call. */
    public static final Duration WAIT = Duration.ofSeconds(60);
    private static final Path BROWSER = Path.of("/usr/bin/chromium");
    private static final Path DRIVER = Path.of("/usr/bin/chromedriver");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10)).build();
    private final Procs.Running driverProcess;
    private final String driver;
    private String session;

    private Chromium(Procs.Running driverProcess, String driver) {
        this.driverProcess = driverProcess;
        this.driver = driver;
    }

    /**
     * Starts chromedriver on a free loopback port and opens a headless browser session with a window of the given
     * size. The driver binds its port on 127.0.0.1 and ::1 and exits when either is taken; a port free when picked can
     * be taken by another program before the driver binds it, so a start that fails that way is retried on another
     * port (at most 3 times).
     */
    public static Chromium start(Path dir, int width, int height) throws Exception {
        if (!Files.isExecutable(BROWSER) || !Files.isExecutable(DRIVER)) {
            throw new AssertionError("Debian's chromium and chromium-driver packages are needed (.ci/run installs"
                + " them): " + BROWSER + ", " + DRIVER);
        }
        Chromium c = null;
        for (int attempt = 1; c == null; attempt++) {
            int port = freePort();
            // the driver's and the browser's temporary files (Chromium's scoped_dir) in the test's own directory,
            // not left in /tmp
            Procs.Running cd = Procs.start(Files.createDirectories(dir.resolve("driver-" + attempt)), null,
                List.of(DRIVER.toString(), "--port=" + port, "--allowed-ips=127.0.0.1"),
                java.util.Map.of("TMPDIR", Files.createDirectories(dir.resolve("tmp")).toString()));
            Chromium candidate = new Chromium(cd, "http://127.0.0.1:" + port);
            if (candidate.waitReady()) {
                c = candidate;
            } else {
                Procs.kill(cd.process());
                String out = cd.output();
                if (attempt == 3 || !(out.contains("already in use") || out.contains("port not available"))) {
                    throw new AssertionError("chromedriver did not start; its output:\n" + out);
                }
            }
        }
        try {
            ObjectNode caps = JSON.createObjectNode();
            ObjectNode opts = caps.putObject("capabilities").putObject("alwaysMatch").putObject("goog:chromeOptions");
            opts.put("binary", BROWSER.toString());
            var args = opts.putArray("args");
            for (String a : List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--window-size=" + width + "," + height,
                "--user-data-dir=" + Files.createDirectories(dir.resolve("profile")))) {
                args.add(a);
            }
            c.session = c.call("POST", "/session", caps).get("sessionId").asText();
            return c;
        } catch (Exception | AssertionError e) {
            c.close();
            throw e;
        }
    }

    /** Polls the driver's status until it is ready, it exits, or {@link #WAIT} passes. */
    private boolean waitReady() throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() - deadline < 0 && driverProcess.process().isAlive()) {
            try {
                if (call("GET", "/status", null).get("ready").booleanValue()) {
                    return true;
                }
            } catch (Exception | AssertionError e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        return false;
    }

    /** A port free on both 127.0.0.1 and ::1 right now. */
    private static int freePort() throws IOException {
        for (int i = 0; i < 20; i++) {
            try (ServerSocket v4 = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
                int port = v4.getLocalPort();
                try (ServerSocket v6 = new ServerSocket(port, 1, InetAddress.getByName("::1"))) {
                    return port;
                } catch (BindException e) {
                    if (!String.valueOf(e.getMessage()).contains("in use")) {
                        return port; // no IPv6 loopback here: the driver binds IPv4 only
                    }
                }
            }
        }
        throw new IllegalStateException("no port free on both 127.0.0.1 and ::1 in 20 tries");
    }

    private JsonNode call(String method, String path, JsonNode body) throws Exception {
        HttpRequest r = HttpRequest.newBuilder(URI.create(driver + path)).timeout(WAIT)
            .header("Content-Type", "application/json")
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))).build();
        HttpResponse<String> res = http.send(r, HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) {
            throw new AssertionError(method + " " + path + ": " + res.statusCode() + " " + res.body());
        }
        return JSON.readTree(res.body()).get("value");
    }

    /** Loads {@code url} in the browser. */
    public void open(String url) throws Exception {
        ObjectNode nav = JSON.createObjectNode();
        nav.put("url", url);
        call("POST", "/session/" + session + "/url", nav);
    }

    /** Runs {@code js} (a function body that returns a value) in the page; the value as text. */
    public String script(String js) throws Exception {
        ObjectNode b = JSON.createObjectNode();
        b.put("script", js);
        b.putArray("args");
        return call("POST", "/session/" + session + "/execute/sync", b).asText();
    }

    /** Waits (polling every 200 ms, at most {@link #WAIT}) until {@code js} returns {@code expected}. */
    public void awaitScript(String js, String expected) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        String last = null;
        while (System.nanoTime() - deadline < 0) {
            last = script(js);
            if (expected.equals(last)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("after " + WAIT + ", `" + js + "` returned " + last + ", not " + expected);
    }

    /** A PNG of the window. */
    public byte[] screenshot() throws Exception {
        return Base64.getDecoder().decode(call("GET", "/session/" + session + "/screenshot", null).asText());
    }

    /** The driver's output, for a failure message. */
    public String driverOutput() {
        return driverProcess.output();
    }

    /** Ends the session and stops the driver. */
    @Override
    public void close() {
        if (session != null) {
            try {
                call("DELETE", "/session/" + session, null);
            } catch (Exception | AssertionError e) {
                // the driver is stopped next anyway
            }
            session = null;
        }
        Procs.kill(driverProcess.process());
    }
}
