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
 * before that belong to {@link Connector}. Client bytes that arrive before (rare: the client's reading starts only
 * once the server is connected) are held and sent first.
 */
final class Relay {

    /** Per-direction write buffer bounds: reading from the other side pauses above high, resumes below low. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);

    /** What the connection learns from its relay. */
    interface Events {
        /** The client connection is up: admission may begin. */
        void clientActive();

        /** A side was half-closed: idle limits may have become shorter. */
        void halfClosed();

        /** The client connection is closed: the connection ends. */
        void clientClosed();
    }

    private final Channel client;
    private final Events events;
    private final IdleDeadlines idle;
    private final LoopClock clock;
    /** This loop's counter slots of the frontend and backend, and of the server once connected. */
    private final long[] feCounts;
    private final long[] beCounts;
    private long[] svCounts;
    private final ClientSide clientSide = new ClientSide();
    private final ServerSide serverSide = new ServerSide();

    private Channel server;
    private CompositeByteBuf early;
    private boolean ended;
    private boolean clientInputShut;
    private boolean serverInputShut;
    private boolean clientOutputShut;
    private boolean serverOutputShut;
    private boolean clientReset;
    private boolean serverReset;

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

    /** The connected server's counter slot, or null before (or without) a server. */
    long[] serverCounts() {
        return svCounts;
    }

    ChannelHandler clientHandler() {
        return clientSide;
    }

    /** Goes on every server channel tried for this connection; events of any but the connected one are ignored. */
    ChannelHandler serverHandler() {
        return serverSide;
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
        server = ch;
        EpollInterest.keep(ch);
        idle.activity(clock.nanoTime());
        if (early != null) {
            CompositeByteBuf buf = early;
            early = null;
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

    private final class ClientSide extends ChannelInboundHandlerAdapter {
        @Override
        public boolean isSharable() {
            return false;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            EpollInterest.keep(ctx.channel());
            events.clientActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Channel s = server;
            if (s == null) {
                holdEarly(msg);
                return;
            }
            ByteBuf buf = (ByteBuf) msg;
            idle.activity(clock.nanoTime());
            int n = buf.readableBytes();
            Counters.add(feCounts, Counters.BIN, n);
            Counters.add(beCounts, Counters.BIN, n);
            if (svCounts != null) {
                Counters.add(svCounts, Counters.BIN, n);
            }
            s.write(buf, s.voidPromise());
            if (!s.isWritable()) {
                client.config().setAutoRead(false);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (server != null) {
                server.flush();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (client.isWritable() && server != null && !serverInputShut) {
                server.config().setAutoRead(true);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
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

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof IOException) {
                clientReset = true;
            }
            client.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
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
    }

    private final class ServerSide extends ChannelInboundHandlerAdapter {
        /** A retry adds it to a new channel while the failed one may still hold it: every method checks its channel. */
        @Override
        public boolean isSharable() {
            return true;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            if (!client.isActive() || ctx.channel() != server) {
                buf.release();
                return;
            }
            idle.activity(clock.nanoTime());
            int n = buf.readableBytes();
            Counters.add(feCounts, Counters.BOUT, n);
            Counters.add(beCounts, Counters.BOUT, n);
            if (svCounts != null) {
                Counters.add(svCounts, Counters.BOUT, n);
            }
            client.write(buf, client.voidPromise());
            if (!client.isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (ctx.channel() == server) {
                client.flush();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel() == server && ctx.channel().isWritable() && !clientInputShut && client.isActive()) {
                client.config().setAutoRead(true);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
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

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (ctx.channel() == server && cause instanceof IOException) {
                serverReset = true;
            }
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
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
    }

    /** An abort, counted for the frontend, the backend and the server. */
    private void count(int field) {
        Counters.increment(feCounts, field);
        Counters.increment(beCounts, field);
        if (svCounts != null) {
            Counters.increment(svCounts, field);
        }
    }

    private void holdEarly(Object msg) {
        ByteBuf buf = (ByteBuf) msg;
        if (ended) {
            buf.release();
            return;
        }
        if (early == null) {
            early = client.alloc().compositeBuffer();
        }
        early.addComponent(true, buf);
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
        ((DuplexChannel) ch).shutdownOutput().addListener((ChannelFutureListener) g -> {
            if (toClient) {
                clientOutputShut = true;
                idle.clientHalfClosed();
            } else {
                serverOutputShut = true;
                idle.serverHalfClosed();
            }
            closeIfBothDone();
        });
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
     * (shutdownOutput: a syscall, and Netty builds a ChannelOutputShutdownException with a stack trace for every call)
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
