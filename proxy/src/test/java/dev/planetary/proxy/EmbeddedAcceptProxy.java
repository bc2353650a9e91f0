package dev.planetary.proxy;

import dev.planetary.core.config.SendProxy;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * An {@link AcceptProxy} on an {@link EmbeddedChannel}, in front of a handler that records what the session would
 * see: when it starts, the addresses the header gave, and every byte after the header, in order.
 */
final class EmbeddedAcceptProxy implements AcceptProxy.Target, AutoCloseable {

    static final long TIMEOUT_MS = 5_000;

    final LongAdder badHeaders = new LongAdder();
    final ByteArrayOutputStream data = new ByteArrayOutputStream();
    final EmbeddedChannel channel;
    InetSocketAddress source;
    InetSocketAddress destination;
    int proxiedCalls;
    int activeCalls;
    /** Bytes seen by the session before it was started (must stay 0). */
    int bytesBeforeActive;
    int inactiveCalls;

    EmbeddedAcceptProxy() {
        this(null);
    }

    /** @param alloc the channel's allocator (all buffers of the connection come from it), or null for the default */
    EmbeddedAcceptProxy(ByteBufAllocator alloc) {
        AcceptProxy ap = new AcceptProxy(this, badHeaders, TIMEOUT_MS);
        channel = new EmbeddedChannel();
        if (alloc != null) {
            channel.config().setAllocator(alloc);
        }
        channel.freezeTime(); // before the header's timer is armed: tests move time by hand
        ap.install(channel.pipeline(), new Recorder());
        channel.pipeline().fireChannelActive(); // as an accepted channel's first event
    }

    @Override
    public void proxied(InetSocketAddress source, InetSocketAddress destination) {
        proxiedCalls++;
        this.source = source;
        this.destination = destination;
    }

    /** Sends {@code bytes} as one read each, in chunks of {@code chunk} bytes (1: byte by byte). */
    EmbeddedAcceptProxy feed(byte[] bytes, int chunk) {
        for (int i = 0; i < bytes.length && channel.isOpen(); i += chunk) {
            int n = Math.min(chunk, bytes.length - i);
            ByteBuf b = channel.alloc().buffer(n);
            b.writeBytes(bytes, i, n);
            channel.writeInbound(b);
        }
        return this;
    }

    void advance(long ms) {
        channel.advanceTimeBy(ms, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
    }

    String dataText() {
        return data.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() {
        channel.finishAndReleaseAll();
    }

    /** The encoded header of {@code m}, as a sender writes it. */
    static byte[] encode(HAProxyMessage m) {
        EmbeddedChannel enc = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
        enc.writeOutbound(m);
        ByteBuf out = enc.readOutbound();
        byte[] bytes = new byte[out.readableBytes()];
        out.readBytes(bytes);
        out.release();
        enc.finishAndReleaseAll();
        return bytes;
    }

    static byte[] v2(String src, int sport, String dst, int dport) {
        return encode(SendProxyHeader.proxied(SendProxy.V2, new InetSocketAddress(src, sport),
            new InetSocketAddress(dst, dport)));
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private final class Recorder extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            activeCalls++;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            try {
                if (activeCalls == 0) {
                    bytesBeforeActive += b.readableBytes();
                }
                byte[] bytes = new byte[b.readableBytes()];
                b.readBytes(bytes);
                data.writeBytes(bytes);
            } finally {
                b.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            inactiveCalls++;
        }
    }
}
