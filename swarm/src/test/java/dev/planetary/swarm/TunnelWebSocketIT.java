package dev.planetary.swarm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.client.AgentOptions;
import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real long-lived WebSocket through the proxy's jar (started with bin/planetary, as a user does): with
 * {@code timeout client 1s} and {@code timeout server 1s} in defaults, a listen with {@code timeout tunnel 1h} keeps an
 * idle socket open and echoing after 3 s of silence, while the same listen without it cuts the socket after about 1 s
 * (HAProxy 2.6 with the same defaults and listens behaves the same: checked with nc and socat). The fake-clock tests of the rule are IdleTimerTest and
 * IdleDeadlinesTest; this one shows it end to end with a real browser protocol.
 */
class TunnelWebSocketIT {

    /** 127.0.197.201: apart from LocalVmServicesTest's VM and from any local swarm's addresses. */
    private static final int INDEX = 49_200;
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration IDLE = Duration.ofSeconds(3);

    @TempDir
    Path dir;

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort(); // the ephemeral range: never the proxy tests' 10000-32000
        }
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void timeoutTunnelKeepsAnIdleWebSocketThatClientAndServerTimeoutsWouldCut() throws Exception {
        Path jar = Launcher.root().resolve("proxy/target/planetary-proxy.jar");
        assertThat(jar).as("built by mvn package before the integration tests").isRegularFile();
        assertThat(Launcher.newerThan(jar, "proxy")).as("bin/planetary would rebuild the proxy").isEmpty();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        LocalVm vm = new LocalVm(INDEX);
        Procs.Running proxy = null;
        try {
            vm.start(group, EpollServerSocketChannel.class, new Traffic(), AgentOptions.builder()
                .genesis(URI.create("http://127.0.0.1:1")).token("no-genesis-here-0123456789").cores(1), null);
            int tunnel = freePort();
            int plain = freePort();
            Path cfg = dir.resolve("ws.cfg");
            Files.writeString(cfg, """
                defaults
                    mode tcp
                    timeout connect 2s
                    timeout client 1s
                    timeout server 1s
                listen tunnel
                    bind 127.0.0.1:%d
                    timeout tunnel 1h
                    server vm %s:%d
                listen plain
                    bind 127.0.0.1:%d
                    server vm %s:%d
                """.formatted(tunnel, vm.address(), LocalVm.WS_PORT, plain, vm.address(), LocalVm.WS_PORT));
            proxy = Procs.start(dir, null, List.of(Launcher.script().toString(), "proxy", "-f", cfg.toString()));
            Procs.Running p = proxy;
            await("the proxy listens").atMost(WAIT).pollInterval(Duration.ofMillis(100))
                .failFast("the proxy exited", () -> !p.process().isAlive())
                .until(() -> accepts(tunnel) && accepts(plain));

            LinkedBlockingQueue<Object> viaTunnel = new LinkedBlockingQueue<>();
            LinkedBlockingQueue<Object> viaPlain = new LinkedBlockingQueue<>();
            HttpClient http = HttpClient.newHttpClient();
            WebSocket t = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + tunnel + "/"),
                new LocalVmServicesTest.Collector(viaTunnel)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            WebSocket n = http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + plain + "/"),
                new LocalVmServicesTest.Collector(viaPlain)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(viaTunnel.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).asString().contains("\"vm\":\"vm-49201\"");
            assertThat(viaPlain.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).asString().contains("\"vm\":\"vm-49201\"");
            long quietSince = System.nanoTime();

            // without timeout tunnel, 1 s of silence ends the socket (closed or reset: the proxy just closes TCP)
            Object cut = viaPlain.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            long cutAfterMs = (System.nanoTime() - quietSince) / 1_000_000;
            assertThat(cut).asString().matches("(closed|error).*");
            assertThat(cutAfterMs).as("cut by timeout client/server 1s").isBetween(700L, 10_000L);

            // with it, the same silence (3 s, three times client/server) leaves the socket open and echoing
            await().pollDelay(IDLE).atMost(IDLE.plusSeconds(5)).until(() -> true);
            assertThat(viaTunnel).as("nothing arrived on the tunnel while it was quiet: no close").isEmpty();
            t.sendText("still here after " + IDLE.toSeconds() + " s", true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(viaTunnel.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("still here after 3 s");
            t.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(viaTunnel.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("closed 1000");
            n.abort();
        } finally {
            if (proxy != null) {
                Procs.kill(proxy.process());
            }
            vm.kill();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
        }
    }
}
