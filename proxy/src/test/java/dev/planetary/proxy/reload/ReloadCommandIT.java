package dev.planetary.proxy.reload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/planetary reload --pidfile F} on a real process started with {@code -p F}: a valid new config is applied
 * in place (a new port listens, a live connection stays), an invalid one is logged in HAProxy's form and changes
 * nothing.
 */
class ReloadCommandIT {

    @TempDir
    Path dir;

    private final Backends backends = new Backends();
    private Process proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            Procs.killNow(proxy);
        }
        backends.close();
    }

    private static String config(int port, int last, int echo) {
        return """
            defaults
                mode tcp
                timeout connect 2s
                timeout client 60s
                timeout server 60s
            listen pcpu
                bind 127.0.0.1:%d-%d
                server e1 127.0.0.1:%d
            """.formatted(port, last, echo);
    }

    private static void assertEchoes(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes());
        assertThat(new String(s.getInputStream().readNBytes(text.length()))).isEqualTo(text);
    }

    private static boolean echoesOn(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            s.setSoTimeout(5000);
            assertEchoes(s, "x");
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private Procs.Result reload(Path pidFile) throws InterruptedException {
        return Procs.run(dir, null, Duration.ofSeconds(30),
            List.of(Launcher.script().toString(), "reload", "--pidfile", pidFile.toString()));
    }

    @Test
    void reloadCommandAppliesAValidConfigAndRefusesAnInvalidOne() throws Exception {
        int port = Ports.pcpuRun(2);
        int echo = backends.echo("e1").port();
        Path cfg = Files.writeString(dir.resolve("p.cfg"), config(port, port, echo));
        Path pidFile = dir.resolve("p.pid");
        Path err = dir.resolve("p.err");
        List<String> cmd = new java.util.ArrayList<>(EchoLoad.javaJar());
        cmd.addAll(List.of("-f", cfg.toString(), "-p", pidFile.toString()));
        // SIGHUP (what reload sends) reset to its default, however the build was started (nohup ignores it)
        ProcessBuilder pb = new ProcessBuilder(Procs.withDefaultSignals(cmd)).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("_JAVA_SR_SIGNUM", Launcher.srSignum());
        proxy = pb.start();
        await().atMost(Duration.ofSeconds(60)).until(() -> !proxy.isAlive() || Files.exists(pidFile));
        assertThat(proxy.isAlive()).as(Files.readString(err)).isTrue();

        try (Socket live = new Socket()) {
            live.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            live.setSoTimeout(5000);
            assertEchoes(live, "before");
            assertThat(echoesOn(port + 1)).isFalse();

            Files.writeString(cfg, config(port, port + 1, echo));
            Procs.Result r = reload(pidFile);
            assertThat(r.code()).as(r.toString()).isZero();
            await().atMost(Duration.ofSeconds(20)).until(() -> Files.readString(err).contains("reload applied: "));
            assertThat(Files.readString(err)).contains("reload applied: 1 port(s) opened");
            assertThat(echoesOn(port + 1)).isTrue();
            assertEchoes(live, "after a reload");

            Files.writeString(cfg, config(port, port, echo).replace("bind", "bnid"));
            r = reload(pidFile);
            assertThat(r.code()).as(r.toString()).isZero();
            await().atMost(Duration.ofSeconds(20)).until(() -> Files.readString(err).contains("reload refused"));
            assertThat(Files.readString(err)).contains("[ALERT] config : parsing [" + cfg + ":7] : unknown keyword"
                + " 'bnid'").doesNotContain("\tat ");
            assertThat(echoesOn(port + 1)).as("an invalid config changes nothing").isTrue();
            assertEchoes(live, "after an invalid one");
        }
        new ProcessBuilder("kill", "-TERM", Long.toString(proxy.pid())).start().waitFor();
        assertThat(proxy.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(proxy.exitValue()).isZero();
        assertThat(pidFile).as("removed at a clean stop").doesNotExist();
    }
}
