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

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The shaded jar as a user runs it ({@code java -jar planetary-proxy.jar ...}) in a child process: version and
 * check, refusals at start (descriptor limit, bad config, busy port) with exit 1 and no stack trace, and the
 * graceful stop on SIGTERM.
 */
class ProxyJarIT {

    private static Path jar;
    private static String java;
    private static Path shippedConfig;

    @TempDir
    Path dir;

    private final Backends backends = new Backends();
    private final List<Process> started = new ArrayList<>();

    @BeforeAll
    static void locate() {
        jar = Launcher.builtJar();
        assertThat(jar).as("the shaded jar").isRegularFile();
        java = Launcher.java();
        Path d = Path.of("").toAbsolutePath();
        for (int i = 0; i < 6 && d != null && !Files.isRegularFile(d.resolve("conf/planetary.cfg")); i++) {
            d = d.getParent();
        }
        assertThat(d).as("a parent directory of %s holding conf/planetary.cfg", Path.of("").toAbsolutePath())
            .isNotNull();
        shippedConfig = d.resolve("conf/planetary.cfg");
        assertThat(shippedConfig).isRegularFile();
    }

    @AfterEach
    void tearDown() {
        for (Process p : started) {
            Procs.killNow(p);
        }
        backends.close();
    }

    private List<String> jarCommand(String... args) {
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-jar", jar.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private Procs.Result runJar(Duration timeout, String... args) throws InterruptedException {
        return Procs.run(dir, null, timeout, jarCommand(args));
    }

    private Procs.Running startJar(String... args) {
        Procs.Running r = Procs.start(dir, null, jarCommand(args));
        started.add(r.process());
        return r;
    }

    private static void assertNoStackTrace(String text) {
        assertThat(text).as("no Java stack trace").doesNotContain("\tat ").doesNotContain("Exception");
    }

    // ---- a. version and check -----------------------------------------------------------------------------

    @Test
    void versionIsPrinted() throws Exception {
        Procs.Result r = runJar(Duration.ofSeconds(30), "-v");
        assertThat(r.out()).as("%s", r).startsWith("Planetary version ").contains("Netty 4.2.18.Final");
        assertThat(r.code()).as("%s", r).isZero();
    }

    @Test
    void shippedConfigChecksValid() throws Exception {
        Procs.Result r = runJar(Duration.ofSeconds(30), "-c", "-f", shippedConfig.toString());
        assertThat(r.out()).as("%s", r).contains("Configuration file is valid");
        assertThat(r.stderr()).as("%s", r).doesNotContain("ALERT");
        assertThat(r.code()).as("%s", r).isZero();
    }

    // ---- b. the shipped plan under a low descriptor limit -------------------------------------------------

    @Test
    void shippedConfigIsRefusedWhenTheDescriptorLimitIsTooLow() throws Exception {
        // ulimit -n without -S/-H sets both limits, so the JVM cannot raise its soft limit past 8192 either.
        Procs.Result r = Procs.run(dir, null, Duration.ofSeconds(30), List.of("bash", "-c",
            "ulimit -n 8192 && exec \"$0\" -Xmx256m -jar \"$1\" -f \"$2\"",
            java, jar.toString(), shippedConfig.toString()));
        assertThat(r.code()).as("%s", r).isEqualTo(1);
        assertThat(r.stderr()).as("%s", r)
            .contains("not enough file descriptors")
            .contains("for 22,001 ports")
            .contains("8,192")
            .contains("ulimit -n")
            .contains("LimitNOFILE");
        assertThat(r.out() + r.stderr()).doesNotContain("Planetary started");
        assertNoStackTrace(r.out() + r.stderr());
    }

    // ---- c. a bad configuration file ----------------------------------------------------------------------

    @Test
    void badConfigExitsOneWithThePositionedMessage() throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.cfg"), """
            listen x
                bind 127.0.0.1:19999
                frobnicate 3
                server s 127.0.0.1:7000
            """);
        String expected = "[ALERT] config : parsing [" + bad + ":3] : unknown keyword 'frobnicate'";
        for (List<String> args : List.of(List.of("-f", bad.toString()), List.of("-c", "-f", bad.toString()))) {
            Procs.Result r = runJar(Duration.ofSeconds(30), args.toArray(String[]::new));
            assertThat(r.code()).as("%s: %s", args, r).isEqualTo(1);
            assertThat(r.stderr()).as("%s: %s", args, r).contains(expected)
                .contains("Fatal errors found in configuration.");
            assertThat(r.out()).as("%s", args).doesNotContain("Configuration file is valid");
            assertNoStackTrace(r.out() + r.stderr());
        }
    }

    // ---- d. graceful stop on SIGTERM ----------------------------------------------------------------------

    private Path stopConfig(int port, TestServer server, String hardStopAfter) throws IOException {
        return Files.writeString(dir.resolve("stop.cfg"), """
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

    private Procs.Running startAndAwaitAccepting(Path config, int port) {
        Procs.Running proc = startJar("-f", config.toString());
        await("the jar accepts on " + port).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
            .until(() -> !proc.process().isAlive() || accepts(port));
        assertThat(proc.process().isAlive()).as("the jar is running; %s", proc.output()).isTrue();
        return proc;
    }

    @Test
    void sigtermStopsAcceptingLetsLiveConnectionsRunUntilHardStopAfterAndExitsZero() throws Exception {
        TestServer echo = backends.echo("e1");
        int port = Ports.pcpu();
        Procs.Running proc = startAndAwaitAccepting(stopConfig(port, echo, "2s"), port);

        try (Socket client = Harness.connect(port)) {
            Harness.write(client, "before stop\n");
            assertThat(Harness.readLine(client)).isEqualTo("before stop");

            long sigterm = System.nanoTime();
            proc.process().destroy(); // SIGTERM
            await("listener closed after SIGTERM").atMost(Duration.ofSeconds(3))
                .pollInterval(Duration.ofMillis(20)).until(() -> refused(port));
            long refusedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);

            // The live connection still works while new ones are refused.
            Harness.write(client, "during stop\n");
            assertThat(Harness.readLine(client)).as("echo on the live connection after SIGTERM")
                .isEqualTo("during stop");
            assertThat(proc.process().isAlive()).isTrue();

            // hard-stop-after 2s: then the proxy closes it.
            client.setSoTimeout(10_000);
            int read;
            try {
                read = client.getInputStream().read();
            } catch (SocketException reset) {
                read = -1;
            }
            long closedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
            System.out.printf("JAR-STOP: refused new connections %d ms after SIGTERM, closed the live one after"
                + " %d ms%n", refusedMs, closedMs);
            assertThat(read).as("the live connection is closed by the proxy").isEqualTo(-1);
            assertThat(closedMs).as("closed at hard-stop-after (2 s), not before, not much later")
                .isBetween(1_700L, 5_000L);
        }
        assertThat(proc.process().waitFor(10, TimeUnit.SECONDS)).as("exited; %s", proc.output()).isTrue();
        assertThat(proc.process().exitValue()).as("exit code; %s", proc.output()).isZero();
        await("server side closed too").atMost(Duration.ofSeconds(5)).until(() -> echo.live.get() == 0);
        assertThat(proc.stderr()).contains("hard-stop-after reached: closed 1 connections");
        assertNoStackTrace(proc.output());
    }

    @Test
    void sigtermWithNoLiveConnectionExitsZeroAtOnce() throws Exception {
        TestServer echo = backends.echo("e1");
        int port = Ports.pcpu();
        // hard-stop-after 30s: exiting within 5 s shows the stop does not wait when nothing is live.
        Procs.Running proc = startAndAwaitAccepting(stopConfig(port, echo, "30s"), port);
        await("probe connections gone at the server").atMost(Duration.ofSeconds(5))
            .until(() -> echo.live.get() == 0);

        long sigterm = System.nanoTime();
        proc.process().destroy(); // SIGTERM
        assertThat(proc.process().waitFor(5, TimeUnit.SECONDS)).as("exited within 5 s; %s", proc.output())
            .isTrue();
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
        System.out.printf("JAR-STOP: idle proxy exited %d ms after SIGTERM%n", ms);
        assertThat(proc.process().exitValue()).as("exit code; %s", proc.output()).isZero();
        assertThat(refused(port)).as("port released").isTrue();
        assertThat(proc.stderr()).doesNotContain("hard-stop-after reached");
        assertNoStackTrace(proc.output());
    }

    // ---- e. a port that is already taken ------------------------------------------------------------------

    @Test
    void busyPortIsNamedAndTheJarExitsOne() throws Exception {
        int low = Ports.pcpuRun(3);
        int busy = low + 1;
        Path config = Files.writeString(dir.resolve("busy.cfg"), """
            defaults
                mode tcp
                timeout connect 2s
                timeout client 10s
                timeout server 10s
            listen pcpu
                bind 127.0.0.1:%d-%d
                server s 127.0.0.1:7000
            """.formatted(low, low + 2));
        try (ServerSocket holder = new ServerSocket()) {
            holder.bind(new InetSocketAddress("127.0.0.1", busy));
            Procs.Result r = runJar(Duration.ofSeconds(30), "-f", config.toString());
            assertThat(r.code()).as("%s", r).isEqualTo(1);
            assertThat(r.stderr()).as("%s", r)
                .contains("could not open 1 of 3 listening ports")
                .contains("127.0.0.1:" + busy + ":")
                .contains("Address already in use");
            assertThat(r.stderr()).as("only the busy port is named").doesNotContain("127.0.0.1:" + low + ":")
                .doesNotContain("127.0.0.1:" + (low + 2) + ":");
            assertNoStackTrace(r.out() + r.stderr());
        }
    }
}
