package dev.planetary.proxy;

import dev.planetary.core.config.FrontendConfig;
import dev.planetary.core.connect.IdleLimits;
import dev.planetary.core.connect.RetryPolicy;
import dev.planetary.core.connect.ServerPool;
import dev.planetary.proxy.stats.FrontendStats;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import dev.planetary.proxy.stats.Counters;

/** A frontend as the running proxy sees it: its listeners, its maxconn, its backend and its counters. */
public final class Frontend {

    // Replaced by a reload (reconfigure): a connection reads them once, when it is accepted, and keeps what it read.
    private volatile FrontendConfig config;
    private volatile ProxyBackend backend;
    final ConnectionLimit limit;
    final ConnectionLimit global;
    /** Per-frontend, computed at start and at each reload: what every connection's connect attempt and idle deadlines read. */
    volatile ServerPool pool;
    volatile RetryPolicy retryPolicy;
    volatile IdleLimits idleLimits;

    /** pin-ports: which VM's server each port goes to; replaced whole by {@link Discovery} after each view. */
    volatile PinTable pins = PinTable.NONE;

    private final FrontendStats stats;
    /** The connection log when this frontend logs ({@code log} + {@code option tcplog}), else null. Set at start. */
    dev.planetary.proxy.log.ConnectionLog log;
    /** planetary_ connect-time and session-duration histograms of the frontend's backend. Set at start. */
    dev.planetary.proxy.stats.http.LatencyHistograms.Backend latency =
        dev.planetary.proxy.stats.http.LatencyHistograms.DISCARD;
    /** accept-proxy binds: connections closed because their PROXY header was missing, malformed, too long or late. */
    final LongAdder badProxyHeaders = new LongAdder();

    Frontend(FrontendConfig config, ProxyBackend backend, ConnectionLimit global, AtomicInteger parkedTotal,
             AcceptGate gate) {
        this(config, backend, global, parkedTotal, gate, FrontendStats.standalone(config.name()));
    }

    Frontend(FrontendConfig config, ProxyBackend backend, ConnectionLimit global, AtomicInteger parkedTotal,
             AcceptGate gate, FrontendStats stats) {
        this.stats = stats;
        this.global = global;
        this.limit = new ConnectionLimit("frontend " + config.name(), config.maxconn(), parkedTotal, gate::reconcile);
        reconfigure(config, backend);
    }

    /**
     * A reload: new connections get the new settings and backend; live ones keep what they read when accepted. The
     * counters and the connection count stay (the maxconn changes in place).
     */
    void reconfigure(FrontendConfig config, ProxyBackend backend) {
        this.idleLimits = IdleLimits.of(config, backend.config());
        this.retryPolicy = RetryPolicy.of(backend.config());
        this.pool = this.backend == backend ? pool : new BackendPool(backend);
        this.backend = backend;
        this.config = config;
        limit.max(config.maxconn());
    }

    public String name() { return config.name(); }
    public FrontendConfig config() { return config; }
    public ProxyBackend backend() { return backend; }
    public int activeConnections() { return limit.count(); }
    /** The frontend's maxconn now (0: none); {@code set maxconn frontend} changes it. */
    public int maxconn() { return limit.max(); }
    /** Sets the frontend's maxconn (0: none); live connections are not touched. */
    public void maxconn(int max) { limit.max(max); }
    /** Counters of this frontend (HAProxy's FRONTEND row). */
    public FrontendStats stats() { return stats; }
    public long acceptedCount() { return stats.counters().sum(Counters.STOT); }
    public long timeoutCount() { return stats.counters().sum(Counters.TIMEOUTS); }
    /** Connections closed at once because too many were already waiting for a maxconn slot. */
    public long deniedCount() { return stats.counters().sum(Counters.DREQ); }
    /** Connections to a pinned port closed at once: its VM's server was down, drained, full or gone. */
    public long pinRefusedCount() { return stats.counters().sum(Counters.EREQ); }
    public long clientResetCount() { return stats.counters().sum(Counters.CLI_ABRT); }
    public long serverResetCount() { return stats.counters().sum(Counters.SRV_ABRT); }
    /** Connections to an accept-proxy bind closed for a missing, malformed, too long or late PROXY header. */
    public long badProxyHeaderCount() { return badProxyHeaders.sum(); }

    /** Hot path (one array index): the pool of the server {@code localPort} is pinned to, or null to balance. */
    PinnedPool pinned(int localPort) {
        return pins.get(localPort);
    }
}
