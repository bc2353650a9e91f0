package dev.planetary.proxy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.connect.IdleDeadlines;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;

import dev.planetary.proxy.stats.Counters;
import dev.planetary.proxy.stats.FreqCounter;
import dev.planetary.proxy.stats.SlidingAverage;

import dev.planetary.proxy.log.ConnectionLog;
import dev.planetary.proxy.log.ConnectionRecord;
import dev.planetary.proxy.log.TerminationState;
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
final class Session implements Relay.Events, IdleTimer.Expiry, QueueWaiter, AcceptProxy.Target {

    // Every field here is per connection: the frontend's and backend's counter slots and the loop's clock are the
    // Relay's (read once, at accept), the process-wide parts the Connector's; the parts reach them from there.
    private final Frontend frontend;
    private final Channel client;
    private final Admission admission;
    private final Relay relay;
    private final Connector connector;
    private final IdleTimer idleTimer;
    private long acceptedNanos;
    private int sourceHash;
    private boolean ended;
    /** In this loop's {@link SessionList} (whose links run through the sessions, loop only). */
    private boolean listed;
    Session nextLive;
    Session prevLive;
    /** The connection log's termination state when a part ended the connection on purpose ('-': not yet). */
    private byte endCause = TerminationState.NORMAL;
    private byte endPhase = TerminationState.NORMAL;
    /** accept-proxy: the client's source and destination as its PROXY header gave them; null for the socket's own. */
    private InetSocketAddress[] proxied;

    Session(Proxy proxy, Frontend frontend, Channel client) {
        this(proxy, frontend, client, LoopClock.of(client.eventLoop()));
    }

    Session(Proxy proxy, Frontend frontend, Channel client, LoopClock clock) {
        this.frontend = frontend;
        this.client = client;
        ProxyBackend backend = frontend.backend();
        IdleDeadlines idle = new IdleDeadlines(frontend.idleLimits);
        // pin-ports: a port Genesis gave a VM goes to that VM's server only (one array index); null: balanced
        int port = RelayChannel.localPort(client);
        PinnedPool pinned = port > 0 ? frontend.pinned(port) : null;
        this.admission = new Admission(this, pinned == null);
        this.relay = new Relay(client, this, idle, clock, frontend.stats().counters().slot(),
            backend.stats().counters().slot());
        this.connector = new Connector(this, relay, backend, proxy, pinned == null ? frontend.pool : pinned);
        this.idleTimer = new IdleTimer(idle, this);
    }

    ChannelHandler clientHandler() {
        return relay.clientHandler();
    }

    boolean ended() {
        return ended;
    }

    Proxy proxy() {
        return connector.proxy();
    }

    Frontend frontend() {
        return frontend;
    }

    /** The backend this connection was accepted for (a reload may give the frontend another one meanwhile). */
    ProxyBackend backend() {
        return connector.backend();
    }

    Channel client() {
        return client;
    }

    /** This loop's counter slots of the frontend and of the connection's backend. */
    long[] feCounts() {
        return relay.feCounts;
    }

    long[] beCounts() {
        return relay.beCounts;
    }

    /** The server this connection is relayed to, or null (not yet connected). Event loop. */
    Server server() {
        return relay.established() ? connector.target() : null;
    }

    /** The channel to the server this connection is relayed to, or null (not yet connected). Event loop. */
    Channel serverChannel() {
        return relay.serverChannel();
    }

    /** Closes both sides now ({@code shutdown sessions}). Event loop. */
    void kill() {
        relay.closeBoth();
    }

    /** One line for {@code show sess}, in HAProxy's words. Event loop. */
    String describe() {
        Server s = server();
        long ageS = (relay.clock.fresh() - acceptedNanos) / 1_000_000_000L;
        return "0x" + Integer.toHexString(System.identityHashCode(this)) + ": proto=tcpv"
            + (client.remoteAddress() instanceof InetSocketAddress a && a.getAddress() instanceof java.net.Inet6Address
                ? 6 : 4)
            + " src=" + addr(client.remoteAddress()) + " fe=" + frontend.name() + " be=" + backend().name()
            + " srv=" + (s == null ? "<none>" : s.name()) + " age=" + ageS + "s";
    }

    private static String addr(java.net.SocketAddress a) {
        return a instanceof InetSocketAddress i ? dev.planetary.proxy.stats.StatsCollector.address(i)
            : String.valueOf(a);
    }

    /** This loop iteration's time. */
    long now() {
        return relay.clock.nanoTime();
    }

    /** Milliseconds this connection waited in the backend's queue (0 if it never did). */
    long queuedMs() {
        return admission.queuedMs();
    }

    // ---- hand-overs between the parts (event loop) -------------------------------------------------------------

    @Override
    public void clientActive() {
        long now = relay.clock.nanoTime();
        acceptedNanos = now;
        SessionList.of(client.eventLoop()).add(this);
        listed = true;
        long[] feCounts = relay.feCounts;
        Counters.increment(feCounts, Counters.STOT);
        FreqCounter.increment(feCounts, now);
        long[] globalCounts = connector.proxy().stats().global().counters().slot(); // once per connection: not kept
        Counters.increment(globalCounts, Counters.STOT);
        FreqCounter.increment(globalCounts, now);
        // Inet4Address.hashCode() is the address itself and Inet6Address's is a hash of its bytes: the IP only,
        // never the port, and no allocation.
        sourceHash = clientSource().getAddress().hashCode();
        admission.admit();
    }

    /** accept-proxy: the PROXY header was read (before {@link #clientActive}); these addresses stand for the client's. */
    @Override
    public void proxied(InetSocketAddress source, InetSocketAddress destination) {
        proxied = new InetSocketAddress[] {source, destination};
    }

    /** The client's address: from its PROXY header on an accept-proxy bind, else the socket's peer. */
    InetSocketAddress clientSource() {
        InetSocketAddress[] p = proxied;
        return p != null ? p[0] : (InetSocketAddress) client.remoteAddress();
    }

    /** The address the client connected to: from its PROXY header on an accept-proxy bind, else the socket's own. */
    InetSocketAddress clientDestination() {
        InetSocketAddress[] p = proxied;
        return p != null ? p[1] : (InetSocketAddress) client.localAddress();
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
    public EventLoop loop() {
        return client.eventLoop();
    }

    @Override
    public LoopClock clock() {
        return relay.clock;
    }

    @Override
    public void idleTimeout() {
        // one idle clock serves both sides: logged as the client's timeout, as the common case (a quiet ssh client)
        ending(TerminationState.CLIENT_TIMEOUT, TerminationState.DATA);
        Counters.increment(relay.feCounts, Counters.TIMEOUTS);
        relay.closeBoth();
    }

    @Override
    public void clientClosed() {
        end();
    }

    @Override
    public boolean mayReadEarly() {
        return admission.holdsSlots();
    }

    private void end() {
        if (ended) {
            return;
        }
        ended = true;
        if (listed) {
            listed = false;
            SessionList.of(client.eventLoop()).remove(this);
        }
        boolean queued = admission.inQueue(); // before leaving the queue: the log's Q phase and Tw of -1
        admission.leaveQueue();
        idleTimer.cancel();
        long[] sv = relay.serverCounts();
        long endNanos = relay.clock.nanoTime();
        if (sv != null) { // reached a server: its total time counts in ttime, as HAProxy's
            frontend.latency.sessionEnded(endNanos - acceptedNanos);
            long ms = (endNanos - acceptedNanos) / 1_000_000;
            long[] beCounts = relay.beCounts;
            Counters.increment(beCounts, Counters.TTIME_SAMPLES);
            SlidingAverage.add(beCounts, Counters.TTIME, Counters.TTIME_MAX, ms);
            Counters.increment(sv, Counters.TTIME_SAMPLES);
            SlidingAverage.add(sv, Counters.TTIME, Counters.TTIME_MAX, ms);
        }
        relay.end();
        connector.end();
        ConnectionLog log = frontend.log;
        ConnectionRecord record = log == null ? null : record(endNanos, queued);
        admission.releaseSlots();
        if (record != null) {
            record.beconn = (int) backend().stats().counters().sum(Counters.CUR);
            log.offer(record);
        }
    }

    /** A part ends the connection on purpose (a timeout, no server): the connection log's termination state. */
    void ending(char cause, char phase) {
        if (endCause == TerminationState.NORMAL) {
            endCause = (byte) cause; // HAProxy's letters: ASCII
            endPhase = (byte) phase;
        }
    }

    /** The connection log's record of this connection, captured as fields (formatted on the log's thread). */
    private ConnectionRecord record(long endNanos, boolean queued) {
        ConnectionRecord r = new ConnectionRecord();
        if (client.remoteAddress() instanceof InetSocketAddress a) {
            r.clientIp = a.getAddress();
            r.clientPort = a.getPort();
        }
        long ttNanos = endNanos - acceptedNanos;
        r.acceptEpochMs = System.currentTimeMillis() - ttNanos / 1_000_000;
        r.frontend = frontend.name();
        r.backend = backend().name();
        Server s = connector.lastServer();
        r.server = s == null ? null : s.name();
        r.tw = queued ? -1 : (int) Math.min(Integer.MAX_VALUE, admission.queuedMs());
        r.tc = connector.connectMs();
        r.tt = (int) Math.min(Integer.MAX_VALUE, ttNanos / 1_000_000);
        r.bytesToClient = relay.bytesToClient();
        if (endCause != TerminationState.NORMAL) {
            r.endCause = (char) endCause;
            r.endPhase = (char) endPhase;
        } else if (relay.established()) {
            if (relay.clientReset()) {
                r.endCause = TerminationState.CLIENT_ABORT;
                r.endPhase = TerminationState.DATA;
            } else if (relay.serverReset()) {
                r.endCause = TerminationState.SERVER_ABORT;
                r.endPhase = TerminationState.DATA;
            }
        } else {
            r.endCause = TerminationState.CLIENT_ABORT; // the client left before a server was connected
            r.endPhase = queued ? TerminationState.QUEUE : TerminationState.CONNECT;
        }
        r.actconn = connector.proxy().activeConnections();
        r.feconn = frontend.activeConnections();
        r.srvconn = s == null ? 0 : s.active();
        r.retries = connector.retries();
        r.redispatched = connector.redispatched();
        r.backendQueue = (int) backend().stats().counters().sum(Counters.QCUR);
        return r;
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
