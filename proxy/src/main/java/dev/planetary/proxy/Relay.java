package dev.planetary.proxy;

import dev.planetary.core.connect.IdleDeadlines;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;

import java.io.IOException;
import dev.planetary.proxy.stats.Counters;

/**
 * The bytes of one proxied connection: client to server and back, on the client's event loop (the shape of Netty's
 * {@code HexDumpProxyFrontendHandler}/{@code BackendHandler}).
 *
 * <p>Rules: bytes read on one side are written to the other and flushed once per read batch; when the other side's
 * outbound buffer passes its high watermark this side stops reading until it drains below the low one, so a slow
 * reader never makes the proxy hold more than a watermark per direction. A FIN is forwarded as a FIN (after
 * everything before it is written), a reset as a reset, and a close only after what was written before it is
 * flushed. Every buffer that is not forwarded is released.
 *
 * <p>The server channel is known here from the moment it is connected ({@link #serverConnected}); the attempts
 * before that belong to {@link Connector}. Client bytes that arrive before are held, up to {@link #EARLY_LIMIT}, and
 * sent first: on epoll the client is read from the start (HAProxy reads the request while it connects too), so a
 * client that speaks first (HTTP, TLS) has its first bytes on their way the moment the server side connects.
 *
 * <p>The relay is itself the handler of both channels (the two handlers of the Netty example would be two more
 * objects per connection): each event is told apart by the channel it comes from. Bytes are counted once per read
 * batch, at channelReadComplete, into this loop's counter slots (see {@link Counters}).
 */
final class Relay extends ChannelInboundHandlerAdapter {

    /** Per-direction write buffer bounds: reading from the other side pauses above high, resumes below low. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);
    /**
     * Client bytes held while the server side connects (or waits in the queue) before the client stops being read:
     * HAProxy's default buffer (tune.bufsize, 16 KiB). Checked after each read, so the bound is this plus one read
     * (up to 64 KiB, the receive allocator's largest); a client's FIN still drains what its socket holds, as Netty
     * reads to the end once the peer has closed (so did the proxy before it read clients early).
     */
    static final int EARLY_LIMIT = 16 * 1024;

    /** What the connection learns from its relay. */
    interface Events {
        /** The client connection is up: admission may begin. */
        void clientActive();

        /** A side was half-closed: idle limits may have become shorter. */
        void halfClosed();

        /** The client connection is closed: the connection ends. */
        void clientClosed();

        /**
         * Whether the client may be read on before its server side is connected: true once the connection holds its
         * maxconn slots (it is connecting, or waits in its backend's queue, as HAProxy's streams do with their
         * request buffer); false while it waits for a slot beyond maxconn, where it holds at most the one read that
         * found it (HAProxy would not have accepted it yet).
         */
        boolean mayReadEarly();
    }

    private final Channel client;
    private final Events events;
    private final IdleDeadlines idle;
    /** This loop's clock; the connection's other parts read it here. */
    final LoopClock clock;
    /**
     * This loop's counter slots of the frontend and backend (read once, at accept), and of the server once connected:
     * kept here only, where the bytes are counted; the connection's other parts count through them too.
     */
    final long[] feCounts;
    final long[] beCounts;
    private long[] svCounts;

    private Channel server;
    /** Client bytes read before the server side connected: one buffer, or a composite of several; or null. */
    private ByteBuf early;
    private boolean ended;
    private boolean clientInputShut;
    private boolean serverInputShut;
    private boolean clientOutputShut;
    private boolean serverOutputShut;
    private boolean clientReset;
    private boolean serverReset;
    /**
     * Bytes read in the read batch under way (one side's reads, then its channelReadComplete: the event loop never
     * interleaves two channels' batches): a plain add per read; the counters and {@link #bytesToClient} get the sum
     * once per batch. An int: a batch is at most maxMessagesPerRead (16) reads of at most 64 KiB, or after a FIN what
     * the socket's receive buffer held: megabytes, never 2 GiB.
     */
    private int batchBytes;
    /** Bytes sent to the client, for the connection log's %B. */
    private long bytesToClient;

    Relay(Channel client, Events events, IdleDeadlines idle, LoopClock clock, Frontend frontend) {
        this(client, events, idle, clock, frontend.stats().counters().slot(),
            frontend.backend().stats().counters().slot());
    }

    /** @param feCounts and {@code beCounts}: the calling event loop's counter slots of the frontend and backend */
    Relay(Channel client, Events events, IdleDeadlines idle, LoopClock clock, long[] feCounts, long[] beCounts) {
        this.client = client;
        this.events = events;
        this.idle = idle;
        this.clock = clock;
        this.feCounts = feCounts;
        this.beCounts = beCounts;
    }

    long bytesToClient() {
        return bytesToClient;
    }

    boolean clientReset() {
        return clientReset;
    }

    boolean serverReset() {
        return serverReset;
    }

    /** The connected server's counter slot, or null before (or without) a server. */
    long[] serverCounts() {
        return svCounts;
    }

    /** The client channel's handler: the relay itself (no handler object of its own per side and connection). */
    ChannelHandler clientHandler() {
        return this;
    }

    /** Goes on every server channel tried for this connection; events of any but the connected one are ignored. */
    ChannelHandler serverHandler() {
        return this;
    }

    /** The connected server channel, or null (not yet connected). */
    Channel serverChannel() {
        return server;
    }

    /** The server side is connected and relaying. */
    boolean established() {
        return server != null;
    }

    /** The server side is connected: send what the client sent meanwhile, then relay both ways. */
    void serverConnected(Channel ch) {
        serverConnected(ch, null);
    }

    /** As {@link #serverConnected(Channel)}, counting bytes and aborts into the server's slot too. */
    void serverConnected(Channel ch, long[] svCounts) {
        this.svCounts = svCounts;
        server = ch; // EPOLLERR is in its interest set since the Connector registered it (RelayChannel.keepReading)
        idle.activity(clock.nanoTime());
        if (early != null) {
            ByteBuf buf = early;
            early = null;
            if (svCounts != null) {
                Counters.add(svCounts, Counters.BIN, buf.readableBytes()); // the frontend's and backend's: at receipt
            }
            ch.write(buf, ch.voidPromise());
            ch.flush();
        }
        if (clientInputShut) {
            shutdownOutputAfterFlush(ch, false);
        } else {
            client.config().setAutoRead(true);
        }
        ch.config().setAutoRead(true);
    }

    /** Idle too long: both sockets close now. */
    void closeBoth() {
        client.close();
        if (server != null) {
            server.close();
        }
    }

    /** The connection has ended: releases what is held. */
    void end() {
        ended = true;
        if (early != null) {
            early.release();
            early = null;
        }
    }

    // ---- the handler of both channels: events go to the client's or the server's side ------------------------

    /**
     * On the client channel and on every server channel tried (a retry adds it to a new channel while the failed one
     * may still hold it): every event is told apart by its channel, and a server side's by {@link #server} too.
     */
    @Override
    public boolean isSharable() {
        return true;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (ctx.channel() == client) {
            clientChannelActive(ctx);
        } else {
            ctx.fireChannelActive();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (ctx.channel() == client) {
            clientRead(ctx, msg);
        } else {
            serverRead(ctx, msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (ctx.channel() == client) {
            clientReadComplete(ctx);
        } else {
            serverReadComplete(ctx);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel() == client) {
            clientWritabilityChanged(ctx);
        } else {
            serverWritabilityChanged(ctx);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (ctx.channel() == client) {
            clientUserEvent(ctx, evt);
        } else {
            serverUserEvent(ctx, evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (ctx.channel() == client) {
            clientException(ctx, cause);
        } else {
            serverException(ctx, cause);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (ctx.channel() == client) {
            clientInactive(ctx);
        } else {
            serverInactive(ctx);
        }
    }

    // ---- the client channel's events ------------------------------------------------------------------------------

    private void clientChannelActive(ChannelHandlerContext ctx) {
        // EPOLLERR is in the client's interest set since the listener saw it accepted (RelayChannel.keepReading)
        events.clientActive();
    }

    private void clientRead(ChannelHandlerContext ctx, Object msg) {
        Channel s = server;
        if (s == null) {
            holdEarly(msg);
            return;
        }
        ByteBuf buf = (ByteBuf) msg;
        batchBytes += buf.readableBytes();
        s.write(buf, s.voidPromise());
        if (!s.isWritable()) {
            client.config().setAutoRead(false);
        }
    }

    private void clientReadComplete(ChannelHandlerContext ctx) {
        if (server != null) {
            int n = batchBytes;
            if (n != 0) {
                batchBytes = 0;
                counted(Counters.BIN, n);
            }
            server.flush();
        }
    }

    private void clientWritabilityChanged(ChannelHandlerContext ctx) {
        if (client.isWritable() && server != null && !serverInputShut) {
            server.config().setAutoRead(true);
        }
    }

    private void clientUserEvent(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            clientInputShut = true;
            idle.clientHalfClosed();
            if (server != null && server.isActive()) {
                if (serverInputShut) {
                    bothFinished();
                } else {
                    shutdownOutputAfterFlush(server, false);
                }
            }
            events.halfClosed(); // client-fin may be shorter than client
        }
        ReferenceCountUtil.release(evt);
    }

    private void clientException(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            clientReset = true;
        }
        client.close();
    }

    private void clientInactive(ChannelHandlerContext ctx) {
        if (server != null && server.isActive()) {
            if (clientReset) {
                count(Counters.CLI_ABRT);
                resetClose(server);
            } else {
                flushThenClose(server);
            }
        }
        events.clientClosed();
    }

    // ---- the server channel's events -----------------------------------------------------------------------------

    private void serverRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf buf = (ByteBuf) msg;
        if (!client.isActive() || ctx.channel() != server) {
            buf.release();
            return;
        }
        batchBytes += buf.readableBytes();
        client.write(buf, client.voidPromise());
        if (!client.isWritable()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void serverReadComplete(ChannelHandlerContext ctx) {
        if (ctx.channel() == server) {
            int n = batchBytes;
            if (n != 0) {
                batchBytes = 0;
                bytesToClient += n;
                counted(Counters.BOUT, n);
            }
            client.flush();
        }
    }

    private void serverWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel() == server && ctx.channel().isWritable() && !clientInputShut && client.isActive()) {
            client.config().setAutoRead(true);
        }
    }

    private void serverUserEvent(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent && ctx.channel() == server) {
            serverInputShut = true;
            idle.serverHalfClosed();
            if (client.isActive()) {
                if (clientInputShut) {
                    bothFinished();
                } else {
                    shutdownOutputAfterFlush(client, true);
                }
            }
            events.halfClosed(); // server-fin may be shorter than server
        }
        ReferenceCountUtil.release(evt);
    }

    private void serverException(ChannelHandlerContext ctx, Throwable cause) {
        if (ctx.channel() == server && cause instanceof IOException) {
            serverReset = true;
        }
        ctx.close();
    }

    private void serverInactive(ChannelHandlerContext ctx) {
        if (ctx.channel() != server) {
            return; // a failed connect attempt: the Connector handles it
        }
        if (client.isActive()) {
            if (serverReset) {
                count(Counters.SRV_ABRT);
                Counters.increment(beCounts, Counters.ERESP);
                if (svCounts != null) {
                    Counters.increment(svCounts, Counters.ERESP);
                }
                resetClose(client);
            } else {
                flushThenClose(client);
            }
        }
    }

    /**
     * A read batch of {@code n} bytes: activity for the idle clock (the loop's time, the same for every read of the
     * batch), and one add per counter slot instead of one per read.
     */
    private void counted(int field, int n) {
        idle.activity(clock.nanoTime());
        Counters.add(feCounts, field, n);
        Counters.add(beCounts, field, n);
        long[] sv = svCounts;
        if (sv != null) {
            Counters.add(sv, field, n);
        }
    }

    /** An abort, counted for the frontend, the backend and the server. */
    private void count(int field) {
        Counters.increment(feCounts, field);
        Counters.increment(beCounts, field);
        if (svCounts != null) {
            Counters.increment(svCounts, field);
        }
    }

    /**
     * Client bytes before the server side is connected: held (the first read as it is, more in a composite) and
     * counted as bytes in of the frontend and backend (HAProxy counts a request's bytes as they arrive), and the
     * client read on while fewer than {@link #EARLY_LIMIT} are held and {@link Events#mayReadEarly} allows it; else
     * the channel stops reading until {@link #serverConnected} turns reading back on.
     */
    private void holdEarly(Object msg) {
        ByteBuf buf = (ByteBuf) msg;
        if (ended) {
            buf.release();
            return;
        }
        int n = buf.readableBytes();
        Counters.add(feCounts, Counters.BIN, n);
        Counters.add(beCounts, Counters.BIN, n);
        ByteBuf held = early;
        if (held == null) {
            early = held = buf;
        } else {
            CompositeByteBuf c;
            if (held instanceof CompositeByteBuf composite) {
                c = composite;
            } else {
                c = client.alloc().compositeBuffer();
                c.addComponent(true, held);
                early = c;
            }
            c.addComponent(true, buf);
            held = c;
        }
        if (held.readableBytes() < EARLY_LIMIT && events.mayReadEarly()) {
            client.read(); // EPOLLIN stays in the interest set: no epoll_ctl before the server side connects
        }
    }

    /** Sends a FIN once everything written before it has reached the socket (shutdownOutput drops pending data). */
    private void shutdownOutputAfterFlush(Channel ch, boolean toClient) {
        if (nothingPending(ch)) {
            shutdownOutput(ch, toClient);
            return;
        }
        ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
            if (f.isSuccess() && ch.isActive()) {
                shutdownOutput(ch, toClient);
            }
        });
    }

    /**
     * Half-closes {@code ch} and turns ALLOW_HALF_CLOSURE off on it: this side has now been sent its FIN, so when its
     * own FIN comes back nothing can flow on this socket any more, and Netty closes it at once (channelInactive, which
     * flushes and closes the other side) instead of half-closing an input on a socket that is already in TIME_WAIT:
     * that costs a shutdown(SHUT_RD) failing with ENOTCONN, a NotYetConnectedException with a stack trace and two
     * epoll_ctl calls per connection. The peers see the same bytes and the same FINs. A reset still arrives as an
     * exception first, so it is still propagated as a reset.
     */
    private void shutdownOutput(Channel ch, boolean toClient) {
        ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
        if (HalfClose.shutdownOutput(ch)) {
            outputShut(toClient); // epoll: at the socket, without Netty's exception, promise and listener
        } else {
            ((DuplexChannel) ch).shutdownOutput().addListener((ChannelFutureListener) g -> outputShut(toClient));
        }
    }

    /** A side has been sent its FIN (or its socket was already gone). */
    private void outputShut(boolean toClient) {
        if (toClient) {
            clientOutputShut = true;
            idle.clientHalfClosed();
        } else {
            serverOutputShut = true;
            idle.serverHalfClosed();
        }
        closeIfBothDone();
    }

    /**
     * Nothing written and not yet on the socket (the usual case at a FIN: every read batch is flushed at its end), so a
     * FIN or close can go now instead of after an empty write's promise: one write, flush and listener less per side.
     */
    private static boolean nothingPending(Channel ch) {
        ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
        return out != null && out.isEmpty() && out.totalPendingWriteBytes() == 0;
    }

    /**
     * The second FIN has arrived: neither peer can send any more, so instead of half-closing the last open direction
     * (shutdownOutput: a syscall, and on NIO and io_uring a ChannelOutputShutdownException with a stack trace)
     * each side is closed once its pending bytes are flushed; close sends the FIN after them. The peer sees the same
     * bytes and the same FIN; one shutdown per connection is saved.
     */
    private void bothFinished() {
        flushThenClose(client);
        flushThenClose(server);
    }

    /** Both directions have carried their FIN: nothing more can flow, close both sockets. */
    private void closeIfBothDone() {
        if (clientInputShut && serverInputShut && clientOutputShut && serverOutputShut) {
            closeBoth();
        }
    }

    private static void flushThenClose(Channel ch) {
        if (nothingPending(ch)) {
            ch.close();
        } else {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** Closes with SO_LINGER 0 so the peer sees a reset, as the other side did. */
    private static void resetClose(Channel ch) {
        try {
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException ignored) {
            // the socket is already gone: a plain close is all that is left
        }
        ch.close();
    }
}
