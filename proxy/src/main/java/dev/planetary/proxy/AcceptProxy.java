package dev.planetary.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code accept-proxy} on a bind line: every connection must start with HAProxy's PROXY protocol header (version 1
 * or 2), and the client address it carries stands for the client's from then on ({@code balance source}, the
 * address sent on with {@code send-proxy}). The connection is handed to its {@link Session} only once the header is
 * read; a missing, malformed, too long or late header closes the connection and counts in its frontend's
 * {@link Frontend#badProxyHeaderCount()}.
 *
 * <p>Pipeline while the header is read: {@code guard -> HAProxyMessageDecoder -> reader -> session}. Netty's decoder
 * parses the header; the guard in front of it refuses, on the first bytes, what cannot be a header (a client that
 * speaks its own protocol at once is closed without waiting for 13 bytes), and enforces HAProxy's 107-byte limit on
 * a version 1 line (Netty's own is 108 bytes plus CRLF). The guard reads bytes in place with no allocation and goes
 * once the header's prefix and length are known to be good; the decoder removes itself after the header, handing on
 * what followed it in the same read (so the client's first bytes are kept, in order); the reader removes itself
 * after it. From then on the pipeline is the session's alone.
 *
 * <p>The header must be complete within {@code timeout client} (HAProxy's rule), or {@link #DEFAULT_TIMEOUT_MS}
 * where the frontend has none. Confined to the connection's event loop.
 */
final class AcceptProxy {

    /**
     * Longest wait for the header when the frontend has no {@code timeout client}: HAProxy would wait forever, but a
     * connection that never sends its header would hold a descriptor forever, and a real sender (a load balancer in
     * front) sends the header with its first packet, so 10 s only ever cuts off clients that are not proxies.
     */
    static final long DEFAULT_TIMEOUT_MS = 10_000;
    /** HAProxy's limit for a version 1 line, CRLF included (the spec's 108-byte buffer holds it and a NUL). */
    static final int V1_MAX_BYTES = 107;

    private static final byte[] V1_PREFIX = {'P', 'R', 'O', 'X', 'Y', ' '};
    private static final byte[] V2_PREFIX = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private static final int WAITING = 0;
    private static final int DONE = 1;
    private static final int FAILED = 2;

    /** Who learns the addresses of the header; then channelActive goes on to the next handler. */
    interface Target {
        /** The header named the client: these addresses stand for the socket's from now on. */
        void proxied(InetSocketAddress source, InetSocketAddress destination);
    }

    private final Target target;
    private final LongAdder badHeaders;
    private final long timeoutMs;
    private final Guard guard = new Guard();
    private final Reader reader = new Reader();

    private int state = WAITING;
    private ScheduledFuture<?> timer;
    /** Bytes of the header the guard has seen so far; its prefix (v1 or v2) once the first byte is known. */
    private int seen;
    private byte[] prefix;
    private boolean cr;

    /** For a connection of {@code frontend}: its counter, and its {@code timeout client} as the header's limit. */
    AcceptProxy(Session session, Frontend frontend) {
        this(session, frontend.badProxyHeaders, headerTimeoutMs(frontend.config().clientTimeoutMs()));
    }

    AcceptProxy(Target target, LongAdder badHeaders, long timeoutMs) {
        this.target = target;
        this.badHeaders = badHeaders;
        this.timeoutMs = timeoutMs;
    }

    /** {@code timeout client}, or {@link #DEFAULT_TIMEOUT_MS} where it is not set (0). */
    static long headerTimeoutMs(long clientTimeoutMs) {
        return clientTimeoutMs > 0 ? clientTimeoutMs : DEFAULT_TIMEOUT_MS;
    }

    /** Puts the header's handlers in front of the session's ({@code next}). */
    void install(ChannelPipeline p, ChannelHandler next) {
        p.addLast(guard, new HAProxyMessageDecoder(), reader, next);
    }

    /** Missing, malformed, too long, late or cut short: the connection is closed, and counted once. */
    private void fail(ChannelHandlerContext ctx) {
        if (state != WAITING) {
            return;
        }
        state = FAILED;
        badHeaders.increment();
        cancelTimer();
        ctx.channel().close();
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /** Checks the header's first bytes and a version 1 line's length as they pass, then leaves. */
    private final class Guard extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (state != WAITING) {
                ReferenceCountUtil.release(msg); // after a failure: the connection is closing
                return;
            }
            ByteBuf buf = (ByteBuf) msg;
            int verdict = inspect(buf);
            if (verdict < 0) {
                buf.release();
                fail(ctx);
                return;
            }
            ctx.fireChannelRead(buf);
            if (verdict > 0 && !ctx.isRemoved()) {
                ctx.pipeline().remove(this);
            }
        }

        /** -1: not a header; 0: looks good so far; 1: the prefix and the line length are known good. */
        private int inspect(ByteBuf buf) {
            int from = buf.readerIndex();
            int to = buf.writerIndex();
            for (int i = from; i < to; i++) {
                byte b = buf.getByte(i);
                if (seen == 0) {
                    prefix = b == V1_PREFIX[0] ? V1_PREFIX : b == V2_PREFIX[0] ? V2_PREFIX : null;
                    if (prefix == null) {
                        return -1;
                    }
                }
                if (seen < prefix.length) {
                    if (b != prefix[seen]) {
                        return -1;
                    }
                    seen++;
                    if (seen == prefix.length && prefix == V2_PREFIX) {
                        return 1; // the decoder bounds a version 2 header by its own length field
                    }
                    continue;
                }
                seen++;
                if (b == '\n' && cr) {
                    return 1; // the whole line, within the limit
                }
                cr = b == '\r';
                if (seen >= V1_MAX_BYTES) {
                    return -1; // the limit is reached and the line has not ended
                }
            }
            return 0;
        }
    }

    /** Takes the decoded header (or the decoder's error) and starts the session. */
    private final class Reader extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            // the session starts only once the header is read: not propagated now
            timer = ctx.executor().schedule(() -> {
                timer = null;
                fail(ctx);
            }, timeoutMs, TimeUnit.MILLISECONDS);
            ctx.read(); // auto-read is off on the proxy's accepted channels: the header is read on request
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (state != WAITING || !(msg instanceof HAProxyMessage header)) {
                ReferenceCountUtil.release(msg); // nothing reaches the session before its header
                return;
            }
            InetSocketAddress source;
            InetSocketAddress destination;
            try {
                source = address(header, true);
                destination = address(header, false);
            } finally {
                header.release();
            }
            if (source == NOT_AN_ADDRESS || destination == NOT_AN_ADDRESS) {
                fail(ctx);
                return;
            }
            state = DONE;
            cancelTimer();
            if (source != null && destination != null) {
                target.proxied(source, destination);
            }
            ctx.pipeline().remove(this);
            ctx.fireChannelActive(); // the session starts: admission, then a server
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (state == WAITING) {
                ctx.read(); // the header is not complete yet
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (state == WAITING && evt instanceof ChannelInputShutdownEvent) {
                fail(ctx); // a FIN before the header is complete
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // the decoder's HAProxyProtocolException, a reset, anything before the header: closed and counted once
            fail(ctx);
            ctx.channel().close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            cancelTimer();
            fail(ctx); // closed before its header: the session never started, so nothing of it to end
        }
    }

    /** Marks an address that a header claimed but that is not one. */
    private static final InetSocketAddress NOT_AN_ADDRESS = InetSocketAddress.createUnresolved("invalid", 0);

    /**
     * The header's source or destination; null where the header carries none that stands for the client (a
     * {@code LOCAL} command, as a sender's own health checks use, or {@code UNKNOWN} / {@code AF_UNIX}): the socket's
     * own addresses then stay.
     */
    private static InetSocketAddress address(HAProxyMessage h, boolean source) {
        if (h.command() != HAProxyCommand.PROXY) {
            return null;
        }
        HAProxyProxiedProtocol.AddressFamily family = h.proxiedProtocol().addressFamily();
        if (family != HAProxyProxiedProtocol.AddressFamily.AF_IPv4
            && family != HAProxyProxiedProtocol.AddressFamily.AF_IPv6) {
            return null;
        }
        String text = source ? h.sourceAddress() : h.destinationAddress();
        InetAddress ip = text == null ? null : NetUtil.createInetAddressFromIpAddressString(text); // never DNS
        if (ip == null) {
            return NOT_AN_ADDRESS;
        }
        return new InetSocketAddress(ip, source ? h.sourcePort() : h.destinationPort());
    }
}
