package dev.planetary.proxy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.BackendConfig;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One proxied TCP connection: the client channel, the server channel opened for it on the same event loop, and the
 * relay between them.
 *
 * <p>Everything here runs on the client's event loop, except the few entry points that other threads call
 * ({@link #takeLimitSlot}, {@link #waiting}, {@link #dequeued}), which only flip an atomic and hop onto that loop.
 *
 * <p>Relay rules: bytes read on one side are written to the other and flushed once per read batch; when the other
 * side's outbound buffer passes its high watermark this side stops reading until it drains below the low one, so a
 * slow reader never makes the proxy hold more than a watermark per direction. A FIN is forwarded as a FIN (after
 * everything before it is written), a reset as a reset.
 */
final class Session implements Runnable {

    /** Per-direction write buffer bounds: reading from the other side pauses above high, resumes below low. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);

    /**
     * HAProxy waits this long (or timeout connect, if shorter) before retrying the same server, so that a server
     * which is restarting is not hammered; redispatched retries go at once.
     */
    static final long TURNAROUND_MS = 1_000;

    private static final int QUEUE_NONE = 0;
    private static final int QUEUE_WAITING = 1;
    private static final int QUEUE_DISPATCHED = 2;
    private static final int QUEUE_DONE = 3;

    private final Proxy proxy;
    private final Frontend frontend;
    private final ProxyBackend backend;
    private final BackendConfig backendConfig;
    private final Channel client;
    private final ClientSide clientSide = new ClientSide();
    private final ServerSide serverSide = new ServerSide();
    private final ConnectListener connectListener = new ConnectListener();
    private final AtomicInteger queueState = new AtomicInteger(QUEUE_NONE);

    private int sourceHash;
    private Server pinned; // pin-ports: the only server this connection may go to; null when balanced
    private boolean globalSlot;
    private boolean frontendSlot;
    private boolean finished;

    private Channel server;
    private Server target;
    private boolean connected;
    private int retriesLeft;
    private CompositeByteBuf early; // client bytes read before the server connection was up (rare)

    private boolean clientInputShut;
    private boolean serverInputShut;
    private boolean clientOutputShut;
    private boolean serverOutputShut;
    private boolean clientReset;
    private boolean serverReset;

    private long lastClientNanos;
    private long lastServerNanos;
    private ScheduledFuture<?> timer;
    private long timerDueNanos; // when the scheduled idle check runs (valid while timer != null)
    private ScheduledFuture<?> queueTimer;

    Session(Proxy proxy, Frontend frontend, Channel client) {
        this.proxy = proxy;
        this.frontend = frontend;
        this.backend = frontend.backend();
        this.backendConfig = backend.config();
        this.client = client;
        this.retriesLeft = backendConfig.retries();
    }

    ChannelInboundHandlerAdapter clientHandler() {
        return clientSide;
    }

    int sourceHash() {
        return sourceHash;
    }

    // ---- admission: global maxconn, frontend maxconn --------------------------------------------------------

    private void start() {
        frontend.accepted.increment();
        // Inet4Address.hashCode() is the address itself and Inet6Address's is a hash of its bytes: the IP only,
        // never the port, and no allocation.
        sourceHash = ((InetSocketAddress) client.remoteAddress()).getAddress().hashCode();
        pinned = frontend.pinned(((InetSocketAddress) client.localAddress()).getPort());
        admit();
    }

    private void admit() {
        if (finished) {
            return;
        }
        if (!globalSlot) {
            if (!frontend.global.tryAcquire()) {
                if (!frontend.global.park(this)) {
                    deny();
                }
                return;
            }
            globalSlot = true;
        }
        if (!frontendSlot) {
            if (!frontend.limit.tryAcquire()) {
                if (!frontend.limit.park(this)) {
                    deny();
                }
                return;
            }
            frontendSlot = true;
        }
        if (pinned == null && backend.hasQueue()) {
            enqueue();
        } else {
            pickAndConnect(null);
        }
    }

    /** Too many connections already wait for a maxconn slot: this one is closed rather than held. */
    private void deny() {
        frontend.denied.increment();
        client.close();
    }

    /** A limit hands this parked connection its slot; any thread. @return false if the connection is gone */
    boolean takeLimitSlot(ConnectionLimit limit) {
        if (!client.isActive()) {
            return false;
        }
        client.eventLoop().execute(() -> {
            if (finished) {
                limit.release();
                return;
            }
            if (limit == frontend.global) {
                globalSlot = true;
            } else {
                frontendSlot = true;
            }
            admit();
        });
        return true;
    }

    // ---- server selection, queue, connect, retries ----------------------------------------------------------

    private void pickAndConnect(Server avoid) {
        if (pinned != null) { // its VM's server or nothing: retries included, never another VM
            if (frontend.claimPinned(pinned)) {
                connect(pinned);
            } else {
                abortClient();
            }
            return;
        }
        Server s = backend.pick(sourceHash, avoid);
        if (s != null) {
            connect(s);
        } else if (backend.anyUsable()) {
            enqueue(); // every usable server is at its maxconn: wait for a slot, up to timeout queue
        } else {
            backend.noServer.increment();
            abortClient();
        }
    }

    private void enqueue() {
        queueState.set(QUEUE_WAITING);
        long ms = backendConfig.queueTimeoutMs() > 0 ? backendConfig.queueTimeoutMs() : backendConfig.connectTimeoutMs();
        if (ms > 0) {
            queueTimer = client.eventLoop().schedule(() -> {
                if (queueState.compareAndSet(QUEUE_WAITING, QUEUE_DONE)) {
                    backend.queueTimeouts.increment();
                    abortClient();
                }
            }, ms, TimeUnit.MILLISECONDS);
        }
        backend.enqueue(this);
    }

    /** Still waiting in the backend queue? Any thread. */
    boolean waiting() {
        return queueState.get() == QUEUE_WAITING;
    }

    /** The queue gives this connection a server whose slot is already taken. Any thread. */
    boolean dequeued(Server s) {
        if (!queueState.compareAndSet(QUEUE_WAITING, QUEUE_DISPATCHED)) {
            return false;
        }
        EventLoop loop = client.eventLoop();
        loop.execute(() -> {
            if (queueTimer != null) {
                queueTimer.cancel(false);
                queueTimer = null;
            }
            if (finished) {
                backend.release(s);
            } else {
                connect(s);
            }
        });
        return true;
    }

    private void connect(Server s) {
        Channel ch;
        try {
            ch = proxy.transport().newChannel();
        } catch (ChannelException e) {
            // no descriptor for the server side (EMFILE): a failed connect that no retry can fix right now
            backend.connectFailures.increment();
            backend.release(s);
            abortClient();
            return;
        }
        target = s;
        server = ch;
        ch.config().setAutoRead(false);
        ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        // TCP_NODELAY is Netty's default for both transports (one setsockopt at creation, none more here)
        ch.config().setWriteBufferWaterMark(WATER_MARK);
        ch.config().setAllocator(client.config().getAllocator());
        long connectMs = backendConfig.connectTimeoutMs();
        ch.config().setConnectTimeoutMillis((int) Math.min(Integer.MAX_VALUE, connectMs));
        ch.pipeline().addLast(serverSide);
        ChannelFuture reg = client.eventLoop().register(ch);
        if (reg.isDone()) {
            afterRegister(reg);
        } else {
            reg.addListener((ChannelFutureListener) this::afterRegister);
        }
    }

    private void afterRegister(ChannelFuture reg) {
        if (!reg.isSuccess()) {
            connectFailed(reg.channel());
            return;
        }
        reg.channel().connect(target.address()).addListener(connectListener);
    }

    private final class ConnectListener implements ChannelFutureListener {
        @Override
        public void operationComplete(ChannelFuture f) {
            if (f.channel() != server) {
                return; // a stale attempt
            }
            if (f.isSuccess()) {
                connected();
            } else {
                connectFailed(f.channel());
            }
        }
    }

    private void connected() {
        connected = true;
        if (finished || !client.isActive()) {
            server.close();
            return;
        }
        long now = System.nanoTime();
        lastClientNanos = now;
        lastServerNanos = now;
        if (early != null) {
            CompositeByteBuf buf = early;
            early = null;
            server.write(buf, server.voidPromise());
            server.flush();
        }
        if (clientInputShut) {
            shutdownOutputAfterFlush(server, false);
        } else {
            client.config().setAutoRead(true);
        }
        server.config().setAutoRead(true);
        armTimer();
    }

    private void connectFailed(Channel ch) {
        Server failed = target;
        ch.close();
        if (failed == null) {
            return; // the client left while connecting and finish() already released the slot
        }
        target = null;
        server = null;
        failed.recordFailedConnect();
        backend.connectFailures.increment();
        proxy.health().liveFailure(failed);
        backend.release(failed);
        if (finished || !client.isActive()) {
            return;
        }
        if (retriesLeft-- <= 0) {
            abortClient();
            return;
        }
        backend.retries.increment();
        if (backendConfig.redispatch()) {
            backend.redispatches.increment();
            pickAndConnect(failed);
            return;
        }
        long connectMs = backendConfig.connectTimeoutMs();
        long delay = connectMs > 0 ? Math.min(TURNAROUND_MS, connectMs) : TURNAROUND_MS;
        client.eventLoop().schedule(() -> retrySame(failed), delay, TimeUnit.MILLISECONDS);
    }

    private void retrySame(Server failed) {
        if (finished || !client.isActive()) {
            return;
        }
        if (failed.usable() && failed.tryAcquire()) {
            connect(failed);
        } else {
            pickAndConnect(null); // it went down or filled up meanwhile
        }
    }

    // ---- relay ------------------------------------------------------------------------------------------------

    private final class ClientSide extends ChannelInboundHandlerAdapter {
        @Override
        public boolean isSharable() {
            return false;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            start();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!connected || server == null) {
                holdEarly(msg);
                return;
            }
            ByteBuf buf = (ByteBuf) msg;
            lastClientNanos = System.nanoTime();
            lastServerNanos = lastClientNanos;
            backend.bytesToServers.add(buf.readableBytes());
            server.write(buf, server.voidPromise());
            if (!server.isWritable()) {
                client.config().setAutoRead(false);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (connected && server != null) {
                server.flush();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (client.isWritable() && server != null && connected && !serverInputShut) {
                server.config().setAutoRead(true);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                clientInputShut = true;
                if (connected && server != null && server.isActive()) {
                    if (serverInputShut) {
                        bothFinished();
                    } else {
                        shutdownOutputAfterFlush(server, false);
                    }
                }
                armTimer(); // client-fin may be shorter than client
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
                    frontend.clientResets.increment();
                    resetClose(server);
                } else {
                    flushThenClose(server);
                }
            }
            finish();
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
            lastServerNanos = System.nanoTime();
            lastClientNanos = lastServerNanos;
            backend.bytesToClients.add(buf.readableBytes());
            client.write(buf, client.voidPromise());
            if (!client.isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            client.flush();
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
                if (client.isActive()) {
                    if (clientInputShut) {
                        bothFinished();
                    } else {
                        shutdownOutputAfterFlush(client, true);
                    }
                }
                armTimer(); // server-fin may be shorter than server
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (ctx.channel() != server) {
                ctx.close();
                return;
            }
            if (cause instanceof IOException) {
                serverReset = true;
            }
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (ctx.channel() != server || !connected) {
                return; // a failed connect attempt: handled by the connect listener
            }
            if (client.isActive()) {
                if (serverReset) {
                    frontend.serverResets.increment();
                    resetClose(client);
                } else {
                    flushThenClose(client);
                }
            }
        }
    }

    private void holdEarly(Object msg) {
        ByteBuf buf = (ByteBuf) msg;
        if (finished) {
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
            } else {
                serverOutputShut = true;
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
            client.close();
            if (server != null) {
                server.close();
            }
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

    /** Closes the client at once (no server, queue timeout, connect failed for good). */
    private void abortClient() {
        client.close();
    }

    // ---- idle timeouts: timeout client / server, client-fin / server-fin --------------------------------------

    /**
     * Makes sure an idle check is scheduled no later than the limits now in force fall due. A check already scheduled
     * for earlier is kept: when it fires it recomputes from the last activity and re-arms, so activity itself never
     * touches the timer, and a FIN only moves it when a shorter client-fin / server-fin applies (one schedule per
     * connection instead of a cancel and a schedule at each FIN).
     */
    private void armTimer() {
        if (finished || !connected) {
            return;
        }
        long due = dueNanos();
        if (due == Long.MAX_VALUE) {
            return; // no idle limits at all
        }
        if (timer != null) {
            if (timerDueNanos - due <= 0) {
                return;
            }
            timer.cancel(false);
        }
        schedule(due, System.nanoTime());
    }

    /** When the first side will have been idle longer than its current limit; Long.MAX_VALUE if neither has one. */
    private long dueNanos() {
        long due = Long.MAX_VALUE;
        long clientLimit = clientLimitNanos();
        if (clientLimit > 0) {
            due = lastClientNanos + clientLimit;
        }
        long serverLimit = serverLimitNanos();
        if (serverLimit > 0) {
            long serverDue = lastServerNanos + serverLimit;
            due = due == Long.MAX_VALUE || serverDue - due < 0 ? serverDue : due;
        }
        return due;
    }

    private void schedule(long due, long now) {
        timerDueNanos = due;
        timer = client.eventLoop().schedule(this, Math.max(0, due - now), TimeUnit.NANOSECONDS);
    }

    /** The idle check: closes the connection if a side has been idle longer than its timeout, else re-arms. */
    @Override
    public void run() {
        timer = null;
        if (finished) {
            return;
        }
        long due = dueNanos();
        if (due == Long.MAX_VALUE) {
            return;
        }
        long now = System.nanoTime();
        if (now - due >= 0) {
            idleTimeout();
        } else {
            schedule(due, now);
        }
    }

    private long clientLimitNanos() {
        boolean halfClosed = clientInputShut || clientOutputShut;
        if (halfClosed && frontend.clientFinTimeoutNanos > 0) {
            return frontend.clientFinTimeoutNanos;
        }
        return frontend.clientTimeoutNanos;
    }

    private long serverLimitNanos() {
        boolean halfClosed = serverInputShut || serverOutputShut;
        long fin = TimeUnit.MILLISECONDS.toNanos(backendConfig.serverFinTimeoutMs());
        if (halfClosed && fin > 0) {
            return fin;
        }
        return TimeUnit.MILLISECONDS.toNanos(backendConfig.serverTimeoutMs());
    }

    private void idleTimeout() {
        frontend.timeouts.increment();
        client.close();
        if (server != null) {
            server.close();
        }
    }

    // ---- end ----------------------------------------------------------------------------------------------

    private void finish() {
        if (finished) {
            return;
        }
        finished = true;
        queueState.set(QUEUE_DONE);
        if (queueTimer != null) {
            queueTimer.cancel(false);
        }
        if (timer != null) {
            timer.cancel(false);
        }
        if (early != null) {
            early.release();
            early = null;
        }
        if (server != null && !connected) {
            server.close(); // connect still in flight: the listener sees finished and releases nothing twice
        }
        if (target != null) {
            Server t = target;
            target = null;
            backend.release(t);
        }
        if (frontendSlot) {
            frontendSlot = false;
            frontend.limit.release();
        }
        if (globalSlot) {
            globalSlot = false;
            frontend.global.release();
        }
    }
}
