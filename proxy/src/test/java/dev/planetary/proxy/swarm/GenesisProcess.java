package dev.planetary.proxy.swarm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.testkit.Procs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The Genesis jar ({@code registry/target/planetary-registry.jar}, system property {@code planetary.registry.jar})
 * run as a user runs it, in a child process with its token in {@code GENESIS_TOKEN}; restartable on the same port
 * and data directory, and killable with SIGKILL.
 */
public final class GenesisProcess implements AutoCloseable {

    /** A test token: Genesis wants at least 16 characters. */
    public static final String TOKEN = "swarm-it-token-0123456789";

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2)).build();

    private final Path dir;
    private final int port;
    private final List<String> options;
    private Process process;
    private int starts;

    private GenesisProcess(Path dir, int port, List<String> options) {
        this.dir = dir;
        this.port = port;
        this.options = options;
    }

    /** Starts Genesis on a free loopback port with its data in {@code dir}/genesis-data and these extra options. */
    public static GenesisProcess start(Path dir, String... options) throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        GenesisProcess g = new GenesisProcess(dir, port, List.of(options));
        g.start();
        return g;
    }

    public URI url() {
        return URI.create("http://127.0.0.1:" + port);
    }

    public int port() {
        return port;
    }

    /** Starts (or restarts) the process and waits until it answers. */
    public void start() {
        String jar = System.getProperty("planetary.registry.jar");
        assertThat(jar).as("system property planetary.registry.jar (set by failsafe)").isNotBlank();
        assertThat(Path.of(jar)).as("the Genesis jar").isRegularFile();
        String java = ProcessHandle.current().info().command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-jar", jar, "--listen", "127.0.0.1:" + port,
            "--data-dir", dir.resolve("genesis-data").toString()));
        cmd.addAll(options);
        int n = ++starts;
        ProcessBuilder pb = new ProcessBuilder(cmd)
            .redirectOutput(dir.resolve("genesis-" + n + ".out").toFile())
            .redirectError(dir.resolve("genesis-" + n + ".err").toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("GENESIS_TOKEN", TOKEN);
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        await("Genesis answers on " + port).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
            .ignoreExceptions().until(() -> {
                if (!process.isAlive()) {
                    throw new AssertionError("Genesis exited " + process.exitValue() + ": " + log());
                }
                return get("/api/health").statusCode() == 200;
            });
    }

    /** SIGKILL. */
    public void kill9() {
        Procs.killNow(process);
    }

    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(url().resolve(path)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
    }

    /** The last run's stderr (where Genesis logs). */
    public String log() {
        return Procs.read(dir.resolve("genesis-" + starts + ".err"));
    }

    @Override
    public void close() {
        Procs.kill(process);
    }
}
