package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Genesis jar out of descriptors for real ({@code ulimit -n} lowered for it alone, more connections opened than
 * it may hold): accepting fails with EMFILE. It logs that once for the whole episode (Netty alone logged each failure,
 * once a second), backs off and retries, accepts again once descriptors are free, and reports the window as a fault
 * of its own (expiry held).
 */
class EmfileIT {

    private static final String TOKEN = "it-token-0123456789abcdef";
    /** Descriptors for the Genesis process: its JVM takes well under 100; the rest go to connections. */
    private static final int NOFILE = 256;
    private static Path jar;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Socket> sockets = new ArrayList<>();
    private Process process;

    @TempDir
    Path dir;

    @BeforeAll
    static void locate() {
        jar = Launcher.builtJar();
        assertThat(jar).isRegularFile();
    }

    @AfterEach
    void tearDown() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        if (process != null) {
            Procs.killNow(process);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void outOfDescriptorsItLogsOnceBacksOffAndAcceptsAgain() throws Exception {
        int port = freePort();
        Path out = dir.resolve("genesis.out");
        Path err = dir.resolve("genesis.err");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", "ulimit -n " + NOFILE + " && exec \"$0\" \"$@\"", java,
            "-Xmx128m", "-jar", jar.toString(), "--listen", "127.0.0.1:" + port, "--data-dir",
            dir.resolve("data").toString(), "--request-timeout", "2m")
            .directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put(Token.ENV, TOKEN);
        process = pb.start();
        Procs.Running proc = new Procs.Running(process, out, err);
        await("Genesis answers").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
            .ignoreExceptions().until(() -> !process.isAlive() || get(port, "/api/health").statusCode() == 200);
        assertThat(process.isAlive()).as("running; %s", proc.output()).isTrue();

        // more connections than it has descriptors: the kernel queues the rest, accept() fails with EMFILE
        for (int i = 0; i < NOFILE + 50; i++) {
            Socket s = new Socket();
            sockets.add(s);
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        }
        await("accepting fails").atMost(Duration.ofSeconds(20))
            .until(() -> proc.stderr().contains("cannot accept connections"));
        Thread.sleep(3_000); // three seconds out of descriptors: Netty alone logged a warning each second
        String during = proc.stderr();
        assertThat(during.lines().filter(l -> l.contains("Too many open files") && !l.contains("expiry held"))
            .count()).as("one line for the whole episode\n%s", during).isEqualTo(1);
        assertThat(during).doesNotContain("exceptionCaught");

        for (Socket s : sockets) {
            s.close();
        }
        sockets.clear();
        await("accepting again").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
            .ignoreExceptions().until(() -> get(port, "/api/health").statusCode() == 200);
        JsonNode health = Json.MAPPER.readTree(get(port, "/api/health").body());
        assertThat(health.get("faults").longValue()).as("reported as Genesis' own fault").isPositive();
        assertThat(health.get("expiry_held").booleanValue()).as("expiry held for a TTL after it").isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> proc.stderr().contains("accepting connections again"));
        assertThat(proc.stderr()).matches("(?s).*accepting connections again on .* after \\d+ failed accepts in \\d+ ms.*");
        assertThat(process.isAlive()).isTrue();
    }
}
