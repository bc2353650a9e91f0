package dev.planetary.registry.client.testing;

import static org.awaitility.Awaitility.await;

import dev.planetary.testkit.Procs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Genesis' shaded jar run as a user runs it: its own JVM, the join token from {@code GENESIS_TOKEN}, output to files.
 * The caller stops it through its {@link Process} (by PID), never by name.
 */
public final class GenesisJar {

    /** A JVM start and Genesis' first fsyncs on a loaded machine: seconds; far more is a broken start. */
    private static final Duration START_WAIT = Duration.ofSeconds(60);

    private GenesisJar() {
    }

    /** registry/target/planetary-registry.jar, which the reactor builds before this module. */
    public static Path jar() {
        Path jar = Path.of(System.getProperty("planetary.registry.jar")).toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: the reactor builds it before this module");
        }
        return jar;
    }

    /** The java of this test's JVM. */
    public static String java() {
        return ProcessHandle.current().info().command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /**
     * Starts Genesis on 127.0.0.1:{@code port} with {@code dataDir} and fast liveness (heartbeat 200 ms, TTL 5 s), its
     * output in {@code logDir/NAME.out|err}, and waits until {@code /api/health} answers 200.
     */
    public static Procs.Running start(Path logDir, String name, int port, Path dataDir, String token) {
        return start(logDir, name, port, dataDir, token, java.util.List.of());
    }

    /** As {@link #start(Path, String, int, Path, String)} with more options, e.g. {@code --store etcd --etcd URLS}. */
    public static Procs.Running start(Path logDir, String name, int port, Path dataDir, String token,
                                      java.util.List<String> moreArgs) {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(java(), "-Xmx128m", "-jar",
            jar().toString(), "--listen", "127.0.0.1:" + port, "--data-dir", dataDir.toString(), "--heartbeat-interval",
            "200ms", "--ttl", "5s"));
        cmd.addAll(moreArgs);
        Path out = logDir.resolve(name + ".out");
        Path err = logDir.resolve(name + ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("GENESIS_TOKEN", token);
        Procs.Running r;
        try {
            r = new Procs.Running(pb.start(), out, err);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/health"))
            .timeout(Duration.ofSeconds(5)).build();
        try {
            await().atMost(START_WAIT).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> r.process().isAlive()
                    && http.send(health, HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
        } catch (RuntimeException e) {
            Procs.killNow(r.process());
            throw new IllegalStateException("Genesis " + name + " did not start\n" + r.output(), e);
        }
        return r;
    }
}
