package dev.planetary.proxy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.connect.IdleDeadlines;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;

import dev.planetary.proxy.stats.Counters;
import dev.planetary.proxy.stats.FreqCounter;
import dev.planetary.proxy.stats.SlidingAverage;

import java.net.InetSocketAddress;

/**
 * One proxied TCP connection, from accept to close: the parts that handle it, each a concern of its own, and the
 * order in which they hand over.
 *
 * <ol>
 *   <li>{@link Admission}: the client channel is active; take the global and frontend maxconn slots (or wait for
 *       them), and a place in the backend's queue while every server is full.</li>
 *   <li>{@link Connector} with its {@link dev.planetary.core.connect.ConnectAttempt}: pick a server, connect on the
 *       client's event loop, retry, redispatch, wait the turnaround, give up.</li>
 *   <li>{@link Relay}: bytes both ways with backpressure, half-close and reset propagation, flush-then-close.</li>
 *   <li>{@link IdleTimer} over {@link IdleDeadlines}: timeout client/server and client-fin/server-fin.</li>
 *   <li>{@link #end()}: the client channel is closed; every part gives back what it holds.</li>
 * </ol>
 *
 * <p>Everything runs on the client's event loop except the three entry points other threads call
 * ({@link #takeLimitSlot}, {@link #waiting}, {@link #dequeued}; see {@link Admission}).
 */
final class Session implements Relay.Events, IdleTimer.Expiry, QueueWaiter {

    private final Frontend frontend;
    private final Channel client;
    private final Admission admission;
    private final Relay relay;
    private final Connector connector;
    private final IdleTimer idleTimer;
    private final LoopClock clock;
    /** This event loop's counter slots: the frontend's, the backend's, the process's (see {@link Counters}). */
    final long[] feCounts;
    final long[] beCounts;
    private final long[] globalCounts;
    private long acceptedNanos;
    private int sourceHash;
    private boolean ended;
    private final Proxy proxy;
    /** This loop's live sessions ({@link SessionList}): links through the sessions, loop only. */
    private SessionList live;
    Session nextLive;
    Session prevLive;

    Session(Proxy proxy, Frontend frontend, Channel client) {
        this(proxy, frontend, client, LoopClock.of(client.eventLoop()));
    }

    Session(Proxy proxy, Frontend frontend, Channel client, LoopClock clock) {
        this.frontend = frontend;
        this.client = client;
        this.clock = clock;
        this.proxy = proxy;
        this.feCounts = frontend.stats().counters().slot();
        this.beCounts = frontend.backend().stats().counters().slot();
        this.globalCounts = proxy.stats().global().counters().slot();
        IdleDeadlines idle = new IdleDeadlines(frontend.idleLimits);
        // pin-ports: a port Genesis gave a VM goes to that VM's server only (one array index); null: balanced
        PinnedPool pinned = client.localAddress() instanceof InetSocketAddress a ? frontend.pinned(a.getPort()) : null;
        this.admission = new Admission(this, frontend, client, pinned == null);
        this.relay = new Relay(client, this, idle, clock, feCounts, beCounts);
        this.connector = new Connector(this, client, relay, clock, frontend, proxy,
            pinned == null ? frontend.pool : pinned);
        this.idleTimer = new IdleTimer(idle, client.eventLoop(), clock, this);
    }

    ChannelHandler clientHandler() {
        return relay.clientHandler();
    }

    boolean ended() {
        return ended;
    }

    Proxy proxy() {
        return proxy;
    }

    /** The server this connection is relayed to, or null (not yet connected). Event loop. */
    Server server() {
        return relay.established() ? connector.target() : null;
    }

    /** Closes both sides now ({@code shutdown sessions}). Event loop. */
    void kill() {
        relay.closeBoth();
    }

    /** One line for {@code show sess}, in HAProxy's words. Event loop. */
    String describe() {
        Server s = server();
        long ageS = (clock.fresh() - acceptedNanos) / 1_000_000_000L;
        return "0x" + Integer.toHexString(System.identityHashCode(this)) + ": proto=tcpv"
            + (client.remoteAddress() instanceof InetSocketAddress a && a.getAddress() instanceof java.net.Inet6Address
                ? 6 : 4)
            + " src=" + addr(client.remoteAddress()) + " fe=" + frontend.name() + " be=" + frontend.backend().name()
            + " srv=" + (s == null ? "<none>" : s.name()) + " age=" + ageS + "s";
    }

    private static String addr(java.net.SocketAddress a) {
        return a instanceof InetSocketAddress i ? dev.planetary.proxy.stats.StatsCollector.address(i)
            : String.valueOf(a);
    }

    /** This loop iteration's time. */
    long now() {
        return clock.nanoTime();
    }

    /** Milliseconds this connection waited in the backend's queue (0 if it never did). */
    long queuedMs() {
        return admission.queuedMs();
    }

    // ---- hand-overs between the parts (event loop) -------------------------------------------------------------

    @Override
    public void clientActive() {
        long now = clock.nanoTime();
        acceptedNanos = now;
        live = SessionList.of(client.eventLoop());
        live.add(this);
        Counters.increment(feCounts, Counters.STOT);
        FreqCounter.increment(feCounts, now);
        Counters.increment(globalCounts, Counters.STOT);
        FreqCounter.increment(globalCounts, now);
        // Inet4Address.hashCode() is the address itself and Inet6Address's is a hash of its bytes: the IP only,
        // never the port, and no allocation.
        sourceHash = ((InetSocketAddress) client.remoteAddress()).getAddress().hashCode();
        admission.admit();
    }

    /** Admitted with no queue ahead: pick a server. */
    void admitted() {
        connector.start(sourceHash);
    }

    /** Every usable server is full. */
    void enqueue() {
        admission.enqueue();
    }

    /** The queue gave this connection a server (slot taken). */
    void assigned(Server s) {
        connector.assigned(s);
    }

    void serverConnected() {
        idleTimer.arm();
    }

    @Override
    public void halfClosed() {
        if (!ended && relay.established()) {
            idleTimer.arm();
        }
    }

    @Override
    public boolean live() {
        return !ended;
    }

    @Override
    public void idleTimeout() {
        Counters.increment(feCounts, Counters.TIMEOUTS);
        relay.closeBoth();
    }

    @Override
    public void clientClosed() {
        end();
    }

    private void end() {
        if (ended) {
            return;
        }
        ended = true;
        if (live != null) {
            live.remove(this);
        }
        admission.leaveQueue();
        idleTimer.cancel();
        long[] sv = relay.serverCounts();
        if (sv != null) { // reached a server: its total time counts in ttime, as HAProxy's
            long ms = (clock.nanoTime() - acceptedNanos) / 1_000_000;
            Counters.increment(beCounts, Counters.TTIME_SAMPLES);
            SlidingAverage.add(beCounts, Counters.TTIME, Counters.TTIME_MAX, ms);
            Counters.increment(sv, Counters.TTIME_SAMPLES);
            SlidingAverage.add(sv, Counters.TTIME, Counters.TTIME_MAX, ms);
        }
        relay.end();
        connector.end();
        admission.releaseSlots();
    }

    // ---- entry points from other threads (see Admission) ------------------------------------------------------

    /** The client's source-address hash, for the queue's picks. Any thread (written before the session queues). */
    public int sourceHash() {
        return sourceHash;
    }

    public boolean waiting() {
        return admission.waiting();
    }

    public boolean dequeued(Server s) {
        return admission.dequeued(s);
    }

    boolean takeLimitSlot(ConnectionLimit limit) {
        return admission.takeLimitSlot(limit);
    }
}
