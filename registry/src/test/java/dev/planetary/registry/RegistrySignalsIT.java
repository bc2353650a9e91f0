package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Genesis started by bin/planetary, as a user starts it, then signalled by PID with kill(1): SIGHUP and SIGUSR2 used
 * to end it (exit 129) and crash the JVM (exit 134, an hs_err file); now they are logged and it keeps answering.
 * SIGUSR1 stops it cleanly, as SIGTERM does.
 */
class RegistrySignalsIT {

    private static final String TOKEN = "it-token-0123456789abcdef";
    private static Path jar;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Process> started = new ArrayList<>();

    @TempDir
    Path dir;

    @BeforeAll
    static void locate() {
        jar = Launcher.builtJar();
        assertThat(jar).isRegularFile();
    }

    @AfterEach
    void tearDown() {
        started.forEach(Procs::killNow);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    private int health(int port) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/health"))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    private Procs.Running startThroughTheLauncher(int port) throws IOException {
        assertThat(Launcher.newerThan(jar, "registry"))
            .as("bin/planetary would rebuild the jar (run the build first, not from inside a test)").isEmpty();
        Path out = dir.resolve("genesis.out");
        Path err = dir.resolve("genesis.err");
        // the signals this test sends reset to their defaults, however the build was started (nohup: SIGHUP ignored)
        ProcessBuilder pb = new ProcessBuilder(Procs.withDefaultSignals(List.of(Launcher.script().toString(),
            "registry", "--listen", "127.0.0.1:" + port, "--data-dir", dir.resolve("data").toString())))
            .directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().remove("_JAVA_SR_SIGNUM");
        pb.environment().put(Token.ENV, TOKEN);
        Procs.Running r = new Procs.Running(pb.start(), out, err);
        started.add(r.process());
        await("Genesis answers").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
            .ignoreExceptions().until(() -> !r.process().isAlive() || health(port) == 200);
        assertThat(r.process().isAlive()).as("running; %s", r.output()).isTrue();
        return r;
    }

    private void kill(String signal, Procs.Running proc) throws InterruptedException {
        Procs.Result r = Procs.run(dir, null, Duration.ofSeconds(10),
            List.of("kill", "-s", signal, Long.toString(proc.pid())));
        assertThat(r.code()).as("kill -s %s: %s", signal, r).isZero();
    }

    private List<Path> crashFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith("hs_err")).toList();
        }
    }

    @Test
    void sighupAndSigusr2AreLoggedAndGenesisKeepsAnswering() throws Exception {
        int port = freePort();
        Procs.Running proc = startThroughTheLauncher(port);
        int n = 0;
        for (String signal : List.of("HUP", "USR2", "HUP", "USR2")) {
            kill(signal, proc);
            int expected = ++n;
            await("SIG" + signal + " logged").atMost(Duration.ofSeconds(10)).until(() -> !proc.process().isAlive()
                || proc.stderr().lines().filter(l -> l.contains("ignored: Genesis has nothing to reload")).count()
                == expected);
            assertThat(proc.process().isAlive()).as("alive after SIG%s; %s", signal, proc.output()).isTrue();
            assertThat(health(port)).isEqualTo(200);
        }
        kill("TERM", proc);
        assertThat(proc.process().waitFor(20, TimeUnit.SECONDS)).as("exited; %s", proc.output()).isTrue();
        assertThat(proc.process().exitValue()).as("exit code; %s", proc.output()).isZero();
        assertThat(crashFiles()).as("no hs_err file").isEmpty();
    }

    @Test
    void sigusr1StopsGenesisCleanly() throws Exception {
        int port = freePort();
        Procs.Running proc = startThroughTheLauncher(port);
        kill("USR1", proc);
        assertThat(proc.process().waitFor(20, TimeUnit.SECONDS)).as("exited; %s", proc.output()).isTrue();
        assertThat(proc.process().exitValue()).as("exit code; %s", proc.output()).isZero();
        assertThat(proc.stderr()).contains("stopped");
    }
}
