package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Backends.TestServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * HAProxy's signals on the real process, sent by PID with kill(1): SIGHUP and SIGUSR2 must not end the proxy (they
 * used to exit 129 and crash the JVM with an hs_err file), they reload the configuration in place and the proxy keeps
 * forwarding; SIGUSR1 is a soft stop; a second SIGTERM/SIGINT during the drain stops at once, exit 0.
 */
class SignalsIT {

    private static final String RELOAD_LINE = "reload applied: ";
    /** HotSpot's suspend/resume signal number, read from the environment (bin/planetary sets it). */
    private static final String SR_SIGNUM_ENV = "_JAVA_SR_SIGNUM";

    private static Path jar;
    private static String java;

    @TempDir
    Path dir;

    private final Backends backends = new Backends();
    private final List<Process> started = new ArrayList<>();
    private int seq;

    @BeforeAll
    static void locate() {
        jar = Launcher.builtJar();
        java = Launcher.java();
    }

    @AfterEach
    void tearDown() {
        started.forEach(Procs::killNow);
        backends.close();
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private Path config(int port, TestServer server, String hardStopAfter) throws IOException {
        return Files.writeString(dir.resolve("signals.cfg"), """
            global
                maxconn 100
                nbthread 2
                hard-stop-after %s
            defaults
                mode tcp
                timeout connect 2s
                timeout client 60s
                timeout server 60s
            listen pcpu
                bind 127.0.0.1:%d
                server %s 127.0.0.1:%d
            """.formatted(hardStopAfter, port, server.name(), server.port()));
    }

    /**
     * Starts {@code cmd} in the temp dir (where an hs_err file would land) with {@code env} added, the signals this
     * test sends reset to their defaults (however the build was started: nohup, a background job).
     */
    private Procs.Running start(List<String> cmd, Map<String, String> env) {
        int n = ++seq;
        Path out = dir.resolve("p" + n + ".out");
        Path err = dir.resolve("p" + n + ".err");
        ProcessBuilder pb = new ProcessBuilder(Procs.withDefaultSignals(cmd)).directory(dir.toFile())
            .redirectOutput(out.toFile()).redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().remove(SR_SIGNUM_ENV);
        pb.environment().putAll(env);
        try {
            Procs.Running r = new Procs.Running(pb.start(), out, err);
            started.add(r.process());
            return r;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The jar with the launcher's environment. */
    private Procs.Running startJar(Path config) {
        return start(List.of(java, "-Xmx256m", "-jar", jar.toString(), "-f",
            config.toString()), Map.of(SR_SIGNUM_ENV, Launcher.srSignum()));
    }

    private static Procs.Running awaitAccepting(Procs.Running proc, int port) {
        await("accepting on " + port).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
            .until(() -> !proc.process().isAlive() || accepts(port));
        assertThat(proc.process().isAlive()).as("running; %s", proc.output()).isTrue();
        return proc;
    }

    private void kill(String signal, Procs.Running proc) throws InterruptedException {
        Procs.Result r = Procs.run(dir, null, Duration.ofSeconds(10),
            List.of("kill", "-s", signal, Long.toString(proc.pid())));
        assertThat(r.code()).as("kill -s %s: %s", signal, r).isZero();
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean refused(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void assertEchoes(Socket client, String line) throws IOException {
        Harness.write(client, line + "\n");
        assertThat(Harness.readLine(client)).isEqualTo(line);
    }

    private static void assertNewConnectionEchoes(int port, String line) throws IOException {
        try (Socket s = Harness.connect(port)) {
            assertEchoes(s, line);
        }
    }

    private static int readToEnd(Socket client) throws IOException {
        client.setSoTimeout(10_000);
        try {
            return client.getInputStream().read();
        } catch (SocketException reset) {
            return -1;
        }
    }

    /** The signals a process has a handler for: the SigCgt mask of /proc/PID/status. */
    private static List<Integer> caughtSignals(long pid) throws IOException {
        String mask = Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
            .filter(l -> l.startsWith("SigCgt:")).findFirst().orElseThrow().substring(7).trim();
        long bits = Long.parseUnsignedLong(mask, 16);
        List<Integer> caught = new ArrayList<>();
        for (int sig = 1; sig <= 64; sig++) {
            if ((bits >>> (sig - 1) & 1) != 0) {
                caught.add(sig);
            }
        }
        return caught;
    }

    private List<Path> crashFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith("hs_err")).toList();
        }
    }

    private static long count(String text, String needle) {
        return text.lines().filter(l -> l.contains(needle)).count();
    }

    private static void assertNoStackTrace(String text) {
        assertThat(text).as("no Java stack trace").doesNotContain("\tat ").doesNotContain("Exception");
    }

    // ---- reload signals ---------------------------------------------------------------------------------------

    @Test
    void throughTheLauncherSigusr2AndSighupAreLoggedAndTheProxyKeepsForwarding() throws Exception {
        Path launcher = Launcher.script();
        assertThat(Launcher.newerThan(jar, "proxy"))
            .as("bin/planetary would rebuild the jar (run the build first, not from inside a test)").isEmpty();
        TestServer echo = backends.echo("e1");
        int port = Ports.pcpu();
        Procs.Running proc = awaitAccepting(start(List.of(launcher.toString(), "proxy", "-f",
            config(port, echo, "2s").toString()), Map.of()), port);

        // The JVM's suspend/resume handler sits on the launcher's signal, SIGUSR2 (12) is the proxy's.
        List<Integer> caught = caughtSignals(proc.pid());
        assertThat(caught).as("signals the launcher-started JVM catches")
            .contains(Integer.parseInt(Launcher.srSignum()), 12, 1, 10, 15);
        try (Socket live = Harness.connect(port)) {
            assertEchoes(live, "before");
            int n = 0;
            for (String signal : List.of("USR2", "HUP", "USR2", "HUP")) {
                kill(signal, proc);
                int expected = ++n;
                await("log line for SIG" + signal).atMost(Duration.ofSeconds(10))
                    .until(() -> !proc.process().isAlive() || count(proc.stderr(), RELOAD_LINE) == expected);
                assertThat(proc.process().isAlive()).as("alive after SIG%s; %s", signal, proc.output()).isTrue();
                assertEchoes(live, "live after SIG" + signal);
                assertNewConnectionEchoes(port, "new after SIG" + signal);
            }
            assertThat(proc.stderr()).contains("reload applied: no change"); // the same file: nothing to change
            assertThat(proc.stderr()).as("the launcher moved the JVM's signal").doesNotContain("SIGUSR2 is the JVM's");
        }
        kill("TERM", proc);
        assertThat(proc.process().waitFor(15, TimeUnit.SECONDS)).as("exited; %s", proc.output()).isTrue();
        assertThat(proc.process().exitValue()).as("exit code; %s", proc.output()).isZero();
        assertThat(crashFiles()).as("no hs_err file").isEmpty();
        assertNoStackTrace(proc.output());
    }

    @Test
    void withoutTheLauncherEnvironmentSigusr2IsLeftToTheJvmAndAWarningSaysHow() throws Exception {
        TestServer echo = backends.echo("e1");
        int port = Ports.pcpu();
        Procs.Running proc = awaitAccepting(start(List.of(java, "-Xmx256m", "-jar", jar.toString(), "-f",
            config(port, echo, "2s").toString()), Map.of()), port);
        await("warning").atMost(Duration.ofSeconds(10)).until(() -> proc.stderr().contains("SIGUSR2"));
        assertThat(proc.stderr()).contains("SIGUSR2 is the JVM's own signal in this process and would crash it:"
            + " start with _JAVA_SR_SIGNUM=39");
        kill("HUP", proc); // SIGHUP reloads either way
        await("SIGHUP logged").atMost(Duration.ofSeconds(10))
            .until(() -> !proc.process().isAlive() || proc.stderr().contains(RELOAD_LINE));
        assertThat(proc.process().isAlive()).as("alive after SIGHUP; %s", proc.output()).isTrue();
        assertNewConnectionEchoes(port, "after SIGHUP");
    }

    @Test
    void underNohupSighupStaysIgnoredAndAWarningSaysSoWhileSigusr2StillReloads() throws Exception {
        TestServer echo = backends.echo("e1");
        int port = Ports.pcpu();
        // nohup leaves SIGHUP ignored, and the JVM keeps an inherited ignored SIGHUP ignored
        Procs.Running proc = awaitAccepting(start(List.of("nohup", java, "-Xmx256m", "-jar", jar.toString(), "-f",
            config(port, echo, "2s").toString()), Map.of(SR_SIGNUM_ENV, Launcher.srSignum())), port);
        await("warning").atMost(Duration.ofSeconds(10)).until(() -> proc.stderr().contains("SIGHUP was ignored"));
        assertThat(proc.stderr()).contains(Signals.IGNORED_HUP);
        kill("USR2", proc);
        await("SIGUSR2 reloads").atMost(Duration.ofSeconds(10))
            .until(() -> !proc.process().isAlive() || proc.stderr().contains(RELOAD_LINE));
        assertThat(proc.process().isAlive()).as("alive after SIGUSR2; %s", proc.output()).isTrue();
        kill("HUP", proc);
        assertNewConnectionEchoes(port, "after an ignored SIGHUP");
        assertThat(proc.process().isAlive()).as("alive after SIGHUP; %s", proc.output()).isTrue();
    }

    // ---- stop signals -----------------------------------------------------------------------------------------

    @Test
    void sigusr1IsASoftStopAndASecondOneChangesNothing() throws Exception {
        TestServer echo = backends.echo("e1");
        int port = Ports.pcpu();
        Procs.Running proc = awaitAccepting(startJar(config(port, echo, "60s")), port);
        try (Socket live = Harness.connect(port)) {
            assertEchoes(live, "before");
            kill("USR1", proc);
            await("listener closed after SIGUSR1").atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
                .until(() -> refused(port));
            kill("USR1", proc);
            assertEchoes(live, "draining");
            assertThat(proc.process().isAlive()).isTrue();
        } // the client goes: nothing is left to drain
        assertThat(proc.process().waitFor(10, TimeUnit.SECONDS)).as("exited; %s", proc.output()).isTrue();
        assertThat(proc.process().exitValue()).as("exit code; %s", proc.output()).isZero();
        assertThat(proc.stderr()).doesNotContain("stop now").doesNotContain("hard-stop-after reached");
        assertNoStackTrace(proc.output());
    }

    @ParameterizedTest(name = "SIG{0} then SIG{1}")
    @CsvSource({"TERM, TERM", "USR1, TERM", "TERM, INT", "INT, INT"})
    void aSecondStopSignalDuringTheDrainClosesEverythingAtOnceAndExitsZero(String first, String second)
        throws Exception {
        TestServer echo = backends.echo("e1");
        int port = Ports.pcpu();
        // hard-stop-after 60s: only "stop now" can end the live connection within the test's bounds.
        Procs.Running proc = awaitAccepting(startJar(config(port, echo, "60s")), port);
        try (Socket live = Harness.connect(port)) {
            assertEchoes(live, "before");
            kill(first, proc);
            await("listener closed after SIG" + first).atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(20)).until(() -> refused(port));
            assertEchoes(live, "draining");

            long t0 = System.nanoTime();
            kill(second, proc);
            assertThat(readToEnd(live)).as("the live connection is closed by the proxy").isEqualTo(-1);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertThat(ms).as("closed at once, not at hard-stop-after (60 s)").isLessThan(8_000);
        }
        assertThat(proc.process().waitFor(15, TimeUnit.SECONDS)).as("exited; %s", proc.output()).isTrue();
        assertThat(proc.process().exitValue()).as("exit code; %s", proc.output()).isZero();
        assertThat(proc.stderr()).contains("stop now (second stop signal): closed 1 connections");
        await("server side closed too").atMost(Duration.ofSeconds(5)).until(() -> echo.live.get() == 0);
        assertThat(crashFiles()).isEmpty();
        assertNoStackTrace(proc.output());
    }
}
