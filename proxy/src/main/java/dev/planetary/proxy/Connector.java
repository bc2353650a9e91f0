package dev.planetary.proxy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.SendProxy;
import dev.planetary.core.connect.ConnectAttempt;
import dev.planetary.core.connect.ServerPool;
import dev.planetary.core.connect.ConnectAttempt.Step;
import dev.planetary.proxy.stats.Counters;
import dev.planetary.proxy.stats.ServerStats;
import dev.planetary.proxy.stats.FreqCounter;
import dev.planetary.proxy.stats.SlidingAverage;
import dev.planetary.proxy.log.TerminationState;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;

import java.util.concurrent.TimeUnit;

/**
 * Opens the server side of one connection: carries out what its {@link ConnectAttempt} decides (connect, wait the
 * turnaround, queue, give up) with a server channel of the client's transport, registered on the client's event loop.
 * Each attempt's channel gets the {@link Relay}'s server handler; once one connects, the relay takes it over.
 *
 * <p>Confined to the client's event loop. The connect timeout is the channel's own (CONNECT_TIMEOUT_MILLIS).
 */
final class Connector implements ChannelFutureListener {

    // Per connection: what the connection's other parts hold already (the client channel, its clock and counter
    // slots) is read through them, not copied here.
    private final Session session;
    private final ConnectAttempt attempt;
    private final Relay relay;
    /** The backend read once, at accept: a reload that gives the frontend another one does not move this connection. */
    private final ProxyBackend backend;
    private final Proxy proxy;
    private Channel pending; // the channel of the attempt in flight, or null
    /** This loop's counter slot of the server of the attempt in flight. */
    private long[] svCounts;
    /**
     * When the attempt in flight began (nanoTime), then, once connected, how long it took (ns): one field for both,
     * as the first is only needed until the second is known.
     */
    private long connectNanos;
    /** For the connection log: the last server tried, and whether a retry was redispatched. */
    private Server lastServer;
    private boolean redispatched;

    Connector(Session session, Relay relay, ProxyBackend backend, Proxy proxy, ServerPool pool) {
        this.session = session;
        this.relay = relay;
        this.backend = backend;
        this.proxy = proxy;
        this.attempt = new ConnectAttempt(pool, session.frontend().retryPolicy);
    }

    ProxyBackend backend() {
        return backend;
    }

    Proxy proxy() {
        return proxy;
    }

    /** The last server tried (null: none was), for the connection log. */
    Server lastServer() {
        return lastServer;
    }

    /** Milliseconds to connect the server side, or -1 if it was never connected. */
    int connectMs() {
        return relay.established() ? (int) Math.min(Integer.MAX_VALUE, connectNanos / 1_000_000) : -1;
    }

    int retries() {
        return attempt.policy().retries() - attempt.retriesLeft();
    }

    boolean redispatched() {
        return redispatched;
    }

    /** The server of the current attempt (the connected one once relaying), or null. */
    Server target() {
        return attempt.target();
    }

    /** The first pick for a newly admitted connection. */
    void start(int sourceHash) {
        act(attempt.begin(sourceHash));
    }

    /** The backend's queue gave this connection {@code s} (slot taken). */
    void assigned(Server s) {
        attempt.assigned(s);
        open(s);
    }

    /** The connection has ended: abandons an attempt in flight and gives back the server slot. */
    void end() {
        Channel p = pending;
        if (p != null) {
            pending = null;
            p.close();
        }
        attempt.release();
    }

    private void act(Step step) {
        switch (step) {
            case CONNECT -> open(attempt.target());
            case WAIT -> session.client().eventLoop().schedule(this::turnaroundOver,
                Math.max(0, attempt.dueNanos() - relay.clock.nanoTime()), TimeUnit.NANOSECONDS);
            case QUEUE -> session.enqueue(); // every usable server is at its maxconn: wait for a slot
            case NO_SERVER -> {
                session.ending(TerminationState.SERVER_ABORT, TerminationState.CONNECT);
                Counters.increment(relay.beCounts, Counters.NOSRV);
                session.client().close();
            }
            case GIVE_UP -> {
                session.ending(TerminationState.SERVER_ABORT, TerminationState.CONNECT);
                session.client().close();
            }
        }
    }

    private void turnaroundOver() {
        if (session.ended() || !session.client().isActive()) {
            return;
        }
        act(attempt.turnaroundOver(relay.clock.fresh()));
    }

    private void open(Server s) {
        Channel client = session.client();
        long[] beCounts = relay.beCounts;
        Transport transport = proxy.transport();
        int connectTimeoutMs = (int) Math.min(Integer.MAX_VALUE, backend.config().connectTimeoutMs());
        Channel ch;
        try {
            ch = transport.newChannel(s.address());
        } catch (ChannelException e) {
            // no descriptor for the server side (EMFILE): a failed connect that no retry can fix right now
            Counters.increment(beCounts, Counters.ECON);
            attempt.release();
            client.close();
            return;
        }
        pending = ch;
        lastServer = s;
        long now = relay.clock.nanoTime();
        connectNanos = now;
        // Stats are made by the backend's owner only, before the server joins: none means it left between the pick
        // and now (counted nowhere, as its stats are gone); making them here would keep them for good.
        ServerStats stats = backend.stats().serverIfPresent(s.name());
        long[] sv = stats != null ? stats.counters().slot() : Counters.scratchSlot();
        svCounts = sv;
        Counters.increment(sv, Counters.CONNECT);
        Counters.max(sv, Counters.SMAX, s.active());
        FreqCounter.increment(sv, now);
        Counters.set(sv, Counters.LAST_SESS, now);
        Counters.increment(beCounts, Counters.CONNECT);
        ch.config().setAutoRead(false);
        ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        // TCP_NODELAY is Netty's default for both transports (one setsockopt at creation, none more here)
        ch.config().setWriteBufferWaterMark(Relay.WATER_MARK);
        ch.config().setAllocator(client.config().getAllocator());
        ch.config().setConnectTimeoutMillis(connectTimeoutMs);
        // before registering: EPOLLERR and EPOLLIN go in with the EPOLL_CTL_ADD, not a MOD each once connected
        RelayChannel.keepReading(ch);
        ChannelFuture reg = client.eventLoop().register(ch);
        if (reg.isDone()) {
            registered(reg);
        } else {
            reg.addListener((ChannelFutureListener) this::registered);
        }
    }

    private void registered(ChannelFuture reg) {
        Channel ch = reg.channel();
        if (ch != pending) {
            ch.close(); // the connection ended meanwhile
        } else if (!reg.isSuccess()) {
            failed(ch);
        } else {
            // added once registered: no pending-handler task, and the one-handler overload makes no varargs array
            ch.pipeline().addLast(null, relay.serverHandler());
            ch.connect(attempt.target().address()).addListener(this);
        }
    }

    /** A connect finished. */
    @Override
    public void operationComplete(ChannelFuture f) {
        Channel ch = f.channel();
        if (ch != pending) {
            return; // a stale attempt: the connection ended and closed it
        }
        if (!f.isSuccess()) {
            failed(ch);
            return;
        }
        pending = null;
        if (!session.client().isActive()) {
            ch.close(); // the client left while connecting; its close ends the connection and frees the slot
            return;
        }
        long[] sv = svCounts;
        long tookNanos = relay.clock.nanoTime() - connectNanos;
        connectNanos = tookNanos;
        long ctime = tookNanos / 1_000_000;
        session.frontend().latency.connected(tookNanos);
        long qtime = session.queuedMs();
        times(relay.beCounts, ctime, qtime); // HAProxy samples qtime and ctime once connected
        times(sv, ctime, qtime);
        SendProxy sendProxy = attempt.target().sendProxy();
        if (sendProxy != SendProxy.NONE) {
            // send-proxy[-v2]: the header goes first; the relay's first flush (or the one below) sends it
            SendProxyHeader.write(ch, sendProxy, session.clientSource(), session.clientDestination());
        }
        relay.serverConnected(ch, sv);
        if (sendProxy != SendProxy.NONE) {
            ch.flush(); // nothing to do if the relay flushed the client's early bytes with it
        }
        session.serverConnected();
    }

    private static void times(long[] counts, long ctimeMs, long qtimeMs) {
        Counters.increment(counts, Counters.TIME_SAMPLES);
        SlidingAverage.add(counts, Counters.CTIME, Counters.CTIME_MAX, ctimeMs);
        SlidingAverage.add(counts, Counters.QTIME, Counters.QTIME_MAX, qtimeMs);
    }

    private void failed(Channel ch) {
        pending = null;
        ch.close();
        Server s = attempt.target();
        long[] sv = svCounts;
        long[] beCounts = relay.beCounts;
        Counters.increment(beCounts, Counters.ECON);
        Counters.increment(sv, Counters.ECON);
        proxy.health().liveFailure(s);
        if (!session.client().isActive()) {
            attempt.release();
            return;
        }
        Step step = attempt.failed(relay.clock.nanoTime());
        if (step != Step.GIVE_UP) {
            Counters.increment(beCounts, Counters.WRETR);
            Counters.increment(sv, Counters.WRETR);
            if (attempt.policy().redispatch()) {
                redispatched = true;
                Counters.increment(beCounts, Counters.WREDIS);
                Counters.increment(sv, Counters.WREDIS);
            }
        }
        act(step);
    }
}
