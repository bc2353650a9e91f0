package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.core.config.Origin;
import dev.planetary.core.config.ServerConfig;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Backends.TestServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * timeout connect/client/server/client-fin/server-fin, retries, option redispatch; real sockets, on native epoll and
 * on the NIO fallback. (How activity moves the idle deadlines is driven by a fake clock in {@link IdleTimerTest}.)
 */
@ParameterizedClass(name = "{0}")
@EnumSource(value = Transport.class, names = {"EPOLL", "NIO"})
class TimeoutsAndRetriesTest {

    @Parameter
    Transport transport;

    private final Backends backends = new Backends();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private Proxy proxy;

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
    }

    private int start(String timeouts, String backendLines) {
        int port = Ports.pcpu();
        proxy = Harness.start("""
            global
                nbthread 2
            defaults
                mode tcp
            %s
            listen be
                bind 127.0.0.1:%d
            %s
            """.formatted(timeouts.indent(4), port, backendLines.indent(4)), transport);
        return port;
    }

    private static long closedAfterMs(Socket s) throws Exception {
        long t0 = System.nanoTime();
        s.setSoTimeout(15_000);
        while (s.getInputStream().read() >= 0) {
            // the greeting or anything else before the close
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }

    @Test
    void timeoutClientClosesAnIdleConnection() throws Exception {
        TestServer silent = backends.silent("s1");
        int port = start("timeout connect 2s\ntimeout client 400ms\ntimeout server 30s",
            "server s1 127.0.0.1:" + silent.port());
        try (Socket s = Harness.connect(port)) {
            assertThat(closedAfterMs(s)).isBetween(300L, 5_000L);
        }
        assertThat(proxy.frontend("be").timeoutCount()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.activeConnections() == 0);
    }

    @Test
    void timeoutServerClosesAnIdleConnection() throws Exception {
        TestServer silent = backends.silent("s1");
        int port = start("timeout connect 2s\ntimeout client 30s\ntimeout server 400ms",
            "server s1 127.0.0.1:" + silent.port());
        try (Socket s = Harness.connect(port)) {
            assertThat(closedAfterMs(s)).isBetween(300L, 5_000L);
        }
        assertThat(proxy.frontend("be").timeoutCount()).isEqualTo(1);
    }

    @Test
    void activityKeepsTheConnectionOpenPastTheTimeout() throws Exception {
        // The server sends a line every 100 ms (its own event loop's timer): 16 lines take 1.6 s, each gap far under
        // 500 ms. Traffic either way counts as activity for both sides, so the silent client is not idle either.
        TestServer ticker = backends.custom("s1", () -> new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                var ticks = ctx.executor().scheduleAtFixedRate(() -> ctx.writeAndFlush(
                    ctx.alloc().buffer().writeBytes("tick\n".getBytes(StandardCharsets.US_ASCII))),
                    100, 100, java.util.concurrent.TimeUnit.MILLISECONDS);
                ctx.channel().closeFuture().addListener(f -> ticks.cancel(false));
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
            }
        });
        int port = start("timeout connect 2s\ntimeout client 500ms\ntimeout server 500ms",
            "server s1 127.0.0.1:" + ticker.port());
        try (Socket s = Harness.connect(port)) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 16; i++) {
                assertThat(Harness.readLine(s)).as("line %d", i).isEqualTo("tick");
            }
            assertThat((System.nanoTime() - t0) / 1_000_000).as("open past the timeout").isGreaterThan(1_000L);
            assertThat(proxy.frontend("be").timeoutCount()).isZero();
        }
    }

    @Test
    void timeoutClientFinAppliesOnceTheClientHalfClosed() throws Exception {
        TestServer silent = backends.silent("s1");
        int port = start("timeout connect 2s\ntimeout client 30s\ntimeout server 30s\ntimeout client-fin 400ms",
            "server s1 127.0.0.1:" + silent.port());
        try (Socket s = Harness.connect(port)) {
            s.shutdownOutput();
            assertThat(closedAfterMs(s)).isBetween(300L, 5_000L);
        }
        assertThat(proxy.frontend("be").timeoutCount()).isEqualTo(1);
    }

    @Test
    void timeoutServerFinAppliesOnceTheServerHalfClosed() throws Exception {
        TestServer halfCloser = backends.custom("s1", () -> new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                ctx.writeAndFlush(ctx.alloc().buffer().writeBytes("bye\n".getBytes(StandardCharsets.US_ASCII)))
                    .addListener((ChannelFutureListener) f -> ((DuplexChannel) ctx.channel()).shutdownOutput());
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
            }
        });
        int port = start("timeout connect 2s\ntimeout client 30s\ntimeout server 30s\ntimeout server-fin 400ms",
            "server s1 127.0.0.1:" + halfCloser.port());
        try (Socket s = Harness.connect(port)) {
            assertThat(Harness.readLine(s)).isEqualTo("bye");
            assertThat(s.getInputStream().read()).isEqualTo(-1);
            long t0 = System.nanoTime();
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.activeConnections() == 0);
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(5_000L);
        }
        assertThat(proxy.frontend("be").timeoutCount()).isEqualTo(1);
    }

    @Test
    void timeoutConnectGivesUpOnAServerThatNeverAnswers() throws Exception {
        // A listener that never accepts, with its accept queue filled: further SYNs are dropped, so connects hang.
        ServerSocket blackhole = new ServerSocket();
        blackhole.bind(new InetSocketAddress("127.0.0.1", 0), 1);
        closeables.add(blackhole);
        for (int i = 0; i < 4; i++) {
            Socket filler = new Socket();
            closeables.add(filler);
            try {
                filler.connect(blackhole.getLocalSocketAddress(), 200);
            } catch (java.io.IOException full) {
                break; // the queue is full
            }
        }
        int port = start("timeout connect 300ms\ntimeout client 30s\ntimeout server 30s\nretries 0",
            "server s1 127.0.0.1:" + blackhole.getLocalPort());
        try (Socket s = Harness.connect(port)) {
            assertThat(closedAfterMs(s)).isBetween(200L, 5_000L);
        }
        assertThat(proxy.backend("be").connectFailureCount()).isEqualTo(1);
    }

    @Test
    void redispatchRetriesOnAnotherServer() throws Exception {
        TestServer ok = backends.greeter("ok");
        int refused = Ports.freeRun(40_000, 60_000, 1); // nothing listens there
        int port = start("timeout connect 1s\ntimeout client 30s\ntimeout server 30s\nretries 3\noption redispatch",
            "balance roundrobin\nserver dead 127.0.0.1:" + refused + "\nserver ok 127.0.0.1:" + ok.port());
        for (int i = 0; i < 10; i++) {
            try (Socket s = Harness.connect(port)) {
                assertThat(Harness.readLine(s)).as("connection %d", i).isEqualTo("ok");
            }
        }
        ProxyBackend be = proxy.backend("be");
        assertThat(be.redispatchCount()).isGreaterThanOrEqualTo(1);
        assertThat(be.connectFailureCount()).isEqualTo(be.redispatchCount());
    }

    @Test
    void withoutRedispatchRetriesTheSameServerThenGivesUp() throws Exception {
        int refused = Ports.freeRun(40_000, 60_000, 1);
        int port = start("timeout connect 100ms\ntimeout client 30s\ntimeout server 30s\nretries 2",
            "server dead 127.0.0.1:" + refused);
        try (Socket s = Harness.connect(port)) {
            // two turn-arounds of min(1s, timeout connect) = 100 ms each before giving up
            assertThat(closedAfterMs(s)).isBetween(150L, 5_000L);
        }
        ProxyBackend be = proxy.backend("be");
        assertThat(be.connectFailureCount()).isEqualTo(3);
        assertThat(be.retryCount()).isEqualTo(2);
        assertThat(be.redispatchCount()).isZero();
    }

    @Test
    void retrySucceedsWhenTheServerComesBack() throws Exception {
        TestServer s1 = backends.greeter("s1");
        s1.stop();
        int port = start("timeout connect 1s\ntimeout client 30s\ntimeout server 30s\nretries 5",
            "server s1 127.0.0.1:" + s1.port());
        ProxyBackend be = proxy.backend("be");
        try (Socket s = Harness.connect(port)) {
            // the first attempt has failed; the retry waits its turnaround of 1 s
            await().atMost(Duration.ofSeconds(5)).until(() -> be.connectFailureCount() >= 1);
            s1.restart();
            assertThat(Harness.readLine(s)).isEqualTo("s1");
        }
        assertThat(proxy.backend("be").retryCount()).isGreaterThanOrEqualTo(1);
    }

    /**
     * Race (issue 12): a retry to the same server used to take a slot on it directly, bypassing membership, so a server
     * removed from the backend during the turnaround still got the retry. The retry must ask the backend.
     */
    @Test
    void retryDuringTheTurnaroundNeverGoesToAServerRemovedMeanwhile() throws Exception {
        TestServer old = backends.greeter("old");
        old.stop(); // refuses: the first attempt fails and a retry to the same server waits its turnaround of 1 s
        TestServer fresh = backends.greeter("fresh");
        int port = start("timeout connect 1s\ntimeout client 30s\ntimeout server 30s\nretries 3",
            "server old 127.0.0.1:" + old.port());
        ProxyBackend be = proxy.backend("be");
        try (Socket s = Harness.connect(port)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> be.connectFailureCount() >= 1);
            be.removeServer("old");
            be.addServer(new ServerConfig("fresh", "127.0.0.1", fresh.port(), false, 2000, 2, 3, 1, 0, false,
                false, new Origin("test", 0)));
            old.restart(); // the removed server is reachable again: only membership keeps the retry away from it
            assertThat(Harness.readLine(s)).isEqualTo("fresh");
        }
        assertThat(old.accepted.get()).as("connections to the removed server").isZero();
    }

    /**
     * Race (issue 12): with option redispatch and a single server, the redispatch lands on the server that just failed
     * and used to retry at once. As in HAProxy, a retry waits min(1 s, timeout connect) unless it goes to another
     * server.
     */
    @Test
    void redispatchToTheSameServerWaitsTheTurnaround() throws Exception {
        int refused = Ports.freeRun(40_000, 60_000, 1);
        int port = start("timeout connect 300ms\ntimeout client 30s\ntimeout server 30s\nretries 2\noption redispatch",
            "server dead 127.0.0.1:" + refused);
        try (Socket s = Harness.connect(port)) {
            // two turnarounds of min(1 s, timeout connect) = 300 ms each before giving up
            assertThat(closedAfterMs(s)).isBetween(500L, 5_000L);
        }
        ProxyBackend be = proxy.backend("be");
        assertThat(be.connectFailureCount()).isEqualTo(3);
        assertThat(be.retryCount()).isEqualTo(2);
    }
}
