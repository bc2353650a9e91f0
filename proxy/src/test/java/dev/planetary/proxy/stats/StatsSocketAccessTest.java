package dev.planetary.proxy.stats;

import dev.planetary.core.config.ConfigParser;
import dev.planetary.core.config.ConfigResult;
import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.StartException;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Backends.TestServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.proxy.testing.Socat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Who may reach the runtime API and do what: levels, TCP sockets, a socket path in use, the idle timeout. */
class StatsSocketAccessTest {

    @TempDir
    Path dir;
    private final Backends backends = new Backends();
    private Proxy proxy;
    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
        for (Process p : started) {
            p.destroyForcibly();
        }
    }

    private String config(String global, TestServer a) {
        return "global\n" + global + """
            defaults
                mode tcp
                timeout connect 1s
                timeout client 30s
                timeout server 30s
            listen be
                bind 127.0.0.1:%d
                server a 127.0.0.1:%d
            """.formatted(Ports.pcpu(), a.port());
    }

    private static String socat(String address, String input) throws Exception {
        return Socat.run(address, input);
    }

    @Test
    void userAndOperatorLevelsChangeNothing() throws Exception {
        TestServer a = backends.named("a");
        int port = Ports.pcpu();
        proxy = Harness.start(config("    stats socket ipv4@127.0.0.1:%d level user\n".formatted(port)
            + "    stats socket " + dir.resolve("op.sock") + " level operator\n", a));
        String tcp = "TCP:127.0.0.1:" + port;
        String op = "UNIX-CONNECT:" + dir.resolve("op.sock");
        for (String write : List.of("set server be/a state maint", "set server be/a weight 0",
            "set server be/a addr 127.0.0.2", "disable server be/a", "enable server be/a", "set weight be/a 3",
            "set maxconn server be/a 1", "set maxconn frontend be 1", "set maxconn global 1",
            "add server be/x 127.0.0.1:1", "del server be/a", "shutdown sessions server be/a")) {
            assertThat(socat(tcp, write + "\n")).as(write).isEqualTo("Permission denied\n\n");
            assertThat(socat(op, write + "\n")).as(write).isEqualTo("Permission denied\n\n");
        }
        assertThat(proxy.backend("be").servers()).singleElement().satisfies(s -> {
            assertThat(s.weight()).isEqualTo(1);
            assertThat(s.usable()).isTrue();
        });
        assertThat(socat(tcp, "show stat\n")).startsWith(StatColumns.HEADER);
        assertThat(socat(op, "show cli level\n")).isEqualTo("operator\n\n");
        assertThat(socat(tcp, "help\n")).doesNotContain("set server").contains("show stat");
    }

    @Test
    void aSocketAnotherProcessServesIsRefusedAndAStaleOneReplaced() throws Exception {
        TestServer a = backends.named("a");
        Path live = dir.resolve("live.sock");
        Process other = new ProcessBuilder("socat", "UNIX-LISTEN:" + live + ",fork", "SYSTEM:echo other").start();
        started.add(other);
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(live));
        ConfigResult r = ConfigParser.parse("t.cfg", config("    stats socket " + live + "\n", a),
            Map.<String, String>of()::get);
        assertThatThrownBy(() -> Proxy.start(r.config())).isInstanceOf(StartException.class)
            .hasMessageContaining("another process is listening on it");
        assertThat(other.isAlive()).as("the other process keeps its socket").isTrue();
        assertThat(live).exists();

        Path stale = dir.resolve("stale.sock");
        other.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        Files.deleteIfExists(stale);
        Process gone = new ProcessBuilder("socat", "UNIX-LISTEN:" + stale + ",unlink-close=0", "SYSTEM:true").start();
        started.add(gone);
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(stale));
        gone.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        assertThat(stale).exists();
        proxy = Harness.start(config("    stats socket " + stale + "\n", a));
        assertThat(socat("UNIX-CONNECT:" + stale, "show backend\n")).isEqualTo("# name\nbe\n\n");
        proxy.close();
        proxy = null;
        assertThat(stale).as("removed at stop").doesNotExist();
    }

    @Test
    void promptSessionIsClosedAfterStatsTimeout() throws Exception {
        TestServer a = backends.named("a");
        int port = Ports.pcpu();
        proxy = Harness.start(config("    stats socket ipv4@127.0.0.1:%d\n    stats timeout 300ms\n"
            .formatted(port), a));
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write("prompt\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            long t0 = System.nanoTime();
            byte[] all = in.readAllBytes(); // ends when the proxy closes the idle session
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(new String(all, StandardCharsets.US_ASCII)).isEqualTo("\n> ");
            assertThat(ms).as("closed after the timeout, not before").isGreaterThanOrEqualTo(250);
        }
    }
}
