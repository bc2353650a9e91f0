package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Backends.TestServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;

/**
 * Byte-exact forwarding, half-close and reset propagation, many connections, backpressure; real sockets, on native
 * epoll and on the NIO fallback.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(value = Transport.class, names = {"EPOLL", "NIO"})
class ForwardingTest {

    @Parameter
    Transport transport;

    private final Backends backends = new Backends();
    private Proxy proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
    }

    private int startProxy(TestServer... servers) {
        int port = Ports.pcpu();
        StringBuilder cfg = new StringBuilder("""
            global
                maxconn 4000
                nbthread 2
            defaults
                mode tcp
                timeout connect 2s
                timeout client 60s
                timeout server 60s
            frontend pcpu
                bind 127.0.0.1:%d
                default_backend pcpu
            backend pcpu
                balance leastconn
            """.formatted(port));
        for (TestServer s : servers) {
            cfg.append("    server ").append(s.name()).append(" 127.0.0.1:").append(s.port()).append('\n');
        }
        proxy = Harness.start(cfg.toString(), transport);
        return port;
    }

    @Test
    void forwardsMegabytesByteExactInBothDirections() throws Exception {
        int port = startProxy(backends.echo("s1"));
        byte[] data = new byte[4 * 1024 * 1024 + 17];
        new Random(42).nextBytes(data);
        try (Socket s = Harness.connect(port)) {
            CompletableFuture<byte[]> echoed = CompletableFuture.supplyAsync(() -> {
                try {
                    return s.getInputStream().readNBytes(data.length);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            s.getOutputStream().write(data);
            s.shutdownOutput();
            byte[] back = echoed.get(30, TimeUnit.SECONDS);
            assertThat(sha256(back)).isEqualTo(sha256(data));
            assertThat(s.getInputStream().read()).as("FIN after the echo").isEqualTo(-1);
        }
    }

    @Test
    void ncHalfCloseGetsTheReplySentAfterItsFin() throws Exception {
        int port = startProxy(backends.replyAfterFin("s1"));
        Process p = new ProcessBuilder("bash", "-c", "printf 'test' | nc -N 127.0.0.1 " + port)
            .redirectErrorStream(true).start();
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).as("nc finished").isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertThat(out).isEqualTo("s1:test");
        assertThat(p.exitValue()).isZero();
    }

    @Test
    void ncInteractiveEchoThroughPcpuPort() throws Exception {
        int port = startProxy(backends.echo("s1"));
        Process p = new ProcessBuilder("bash", "-c", "printf 'hello\\nworld\\n' | nc -N 127.0.0.1 " + port)
            .redirectErrorStream(true).start();
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
            .isEqualTo("hello\nworld\n");
    }

    @Test
    void serverFinReachesClientWhileClientCanStillSend() throws Exception {
        // The server says hello and half-closes; it keeps reading and reports what it got once the client closes.
        AtomicLong receivedByServer = new AtomicLong();
        AtomicBoolean serverSawFin = new AtomicBoolean();
        TestServer s1 = backends.custom("s1", () -> new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                ctx.writeAndFlush(ctx.alloc().buffer().writeBytes("hello\n".getBytes(StandardCharsets.US_ASCII)))
                    .addListener((ChannelFutureListener) f -> ((DuplexChannel) ctx.channel()).shutdownOutput());
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                receivedByServer.addAndGet(((ByteBuf) msg).readableBytes());
                ReferenceCountUtil.release(msg);
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof ChannelInputShutdownEvent) {
                    serverSawFin.set(true);
                    ctx.close();
                }
            }
        });
        int port = startProxy(s1);
        try (Socket s = Harness.connect(port)) {
            assertThat(Harness.readLine(s)).isEqualTo("hello");
            assertThat(s.getInputStream().read()).as("server's FIN forwarded").isEqualTo(-1);
            Harness.write(s, "still talking");
            s.shutdownOutput();
            await().atMost(Duration.ofSeconds(10)).untilTrue(serverSawFin);
            assertThat(receivedByServer.get()).isEqualTo("still talking".length());
        }
    }

    @Test
    void clientResetIsPropagatedAsReset() throws Exception {
        AtomicBoolean serverSawReset = new AtomicBoolean();
        AtomicBoolean serverSawFin = new AtomicBoolean();
        TestServer s1 = backends.custom("s1", () -> new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof ChannelInputShutdownEvent) {
                    serverSawFin.set(true);
                }
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                if (cause instanceof IOException && String.valueOf(cause.getMessage()).contains("reset")) {
                    serverSawReset.set(true);
                }
                ctx.close();
            }
        });
        int port = startProxy(s1);
        Socket s = Harness.connect(port);
        Harness.write(s, "x");
        await().atMost(Duration.ofSeconds(5)).until(() -> s1.live.get() == 1);
        s.setSoLinger(true, 0);
        s.close(); // RST
        await().atMost(Duration.ofSeconds(10)).untilTrue(serverSawReset);
        assertThat(serverSawFin).isFalse();
        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.activeConnections() == 0);
    }

    @Test
    void serverResetIsPropagatedAsReset() throws Exception {
        TestServer s1 = backends.custom("s1", () -> new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
                ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
                ctx.close(); // RST on the first byte
            }
        });
        int port = startProxy(s1);
        try (Socket s = Harness.connect(port)) {
            Harness.write(s, "x");
            assertThatThrownBy(() -> {
                InputStream in = s.getInputStream();
                for (int i = 0; i < 1000 && in.read() >= 0; i++) {
                    // drain until the reset surfaces
                }
                throw new AssertionError("clean end of stream instead of a reset");
            }).isInstanceOf(SocketException.class).hasMessageContaining("reset");
        }
    }

    @Test
    void thousandConcurrentConnectionsAllServedByteExact() throws Exception {
        int port = startProxy(backends.echo("s1"), backends.echo("s2"), backends.echo("s3"));
        int n = 1000;
        List<Socket> sockets = new ArrayList<>(n);
        try {
            for (int i = 0; i < n; i++) {
                sockets.add(Harness.connect(port));
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> proxy.activeConnections() == n);
            byte[][] payloads = new byte[n][];
            Random rnd = new Random(7);
            for (int i = 0; i < n; i++) {
                payloads[i] = new byte[1024 + rnd.nextInt(2048)];
                rnd.nextBytes(payloads[i]);
                OutputStream out = sockets.get(i).getOutputStream();
                out.write(payloads[i]);
                out.flush();
            }
            for (int i = 0; i < n; i++) {
                byte[] back = sockets.get(i).getInputStream().readNBytes(payloads[i].length);
                assertThat(back).as("connection %d", i).isEqualTo(payloads[i]);
            }
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> proxy.activeConnections() == 0);
        proxy.backends().forEach(b -> b.servers().forEach(s -> assertThat(s.active()).isZero()));
    }

    @Test
    void gibibyteThroughSlowReaderKeepsProxyMemoryBounded() throws Exception {
        long total = 1L << 30;
        // A backend that streams a known pattern as fast as the proxy lets it (write backpressure honoured).
        AtomicBoolean sourceBlocked = new AtomicBoolean();
        AtomicBoolean sourceDone = new AtomicBoolean();
        AtomicLong sourceSent = new AtomicLong();
        TestServer source = backends.custom("src", () -> new ChannelInboundHandlerAdapter() {
            long sent;

            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                ctx.channel().config().setAllocator(new PooledByteBufAllocator(true)); // keep its memory apart
                pump(ctx);
            }

            @Override
            public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                pump(ctx);
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
            }

            private void pump(ChannelHandlerContext ctx) {
                while (ctx.channel().isWritable() && sent < total) {
                    int len = (int) Math.min(64 * 1024, total - sent);
                    byte[] chunk = new byte[len]; // one bulk write: leak-tracked buffers record every call
                    for (int i = 0; i < len; i++) {
                        chunk[i] = pattern(sent + i);
                    }
                    ByteBuf b = ctx.alloc().directBuffer(len).writeBytes(chunk);
                    sent += len;
                    ctx.write(b);
                }
                ctx.flush();
                sourceSent.set(sent);
                sourceBlocked.set(!ctx.channel().isWritable()); // backpressure has reached the source
                if (sent >= total) {
                    sourceDone.set(true);
                    ctx.channel().writeAndFlush(ctx.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
                }
            }
        });
        int port = startProxy(source);
        long baseline = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
        long maxUsed = baseline;
        CRC32 got = new CRC32();
        CRC32 want = new CRC32();
        long read = 0;
        try (Socket s = Harness.connect(port)) {
            s.setReceiveBufferSize(64 * 1024);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64 * 1024];
            byte[] expected = new byte[buf.length];
            long nextPause = 0;
            while (true) {
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                for (int i = 0; i < n; i++) {
                    expected[i] = pattern(read + i);
                }
                got.update(buf, 0, n);
                want.update(expected, 0, n);
                read += n;
                if (read >= nextPause) { // slow reader: every 8 MiB it stops until the proxy's buffers are full
                    nextPause = read + 8 * 1024 * 1024;
                    long[] seen = {-1};
                    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).until(() -> {
                        long now = sourceSent.get(); // the whole pipe is full once the blocked source stops sending
                        boolean still = now == seen[0];
                        seen[0] = now;
                        return sourceDone.get() || (still && sourceBlocked.get());
                    });
                    maxUsed = Math.max(maxUsed, PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory());
                }
            }
        }
        assertThat(read).isEqualTo(total);
        assertThat(got.getValue()).isEqualTo(want.getValue());
        // Watermarks bound the proxy to a few hundred KiB per connection; the pool grows in 4 MiB chunks.
        assertThat(maxUsed - baseline).as("proxy pooled direct memory in use beyond the baseline")
            .isLessThan(32L * 1024 * 1024);
    }

    private static byte pattern(long i) {
        return (byte) ((i * 31) ^ (i >>> 11));
    }

    private static byte[] sha256(byte[] b) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }
}
