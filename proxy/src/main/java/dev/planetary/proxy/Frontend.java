package dev.planetary.proxy;

import dev.planetary.core.config.FrontendConfig;
import dev.planetary.core.connect.IdleLimits;
import dev.planetary.core.connect.RetryPolicy;
import dev.planetary.core.connect.ServerPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

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

    final LongAdder accepted = new LongAdder();
    final LongAdder timeouts = new LongAdder();
    final LongAdder clientResets = new LongAdder();
    final LongAdder serverResets = new LongAdder();
    /** Connections closed at once because too many were already waiting for a maxconn slot. */
    final LongAdder denied = new LongAdder();
    /** pin-ports: which VM's server each port goes to; replaced whole by {@link Discovery} after each view. */
    volatile PinTable pins = PinTable.NONE;
    /** Connections to a pinned port closed at once: its VM's server was down, drained, full or gone. */
    final LongAdder pinRefused = new LongAdder();
    /** accept-proxy binds: connections closed because their PROXY header was missing, malformed, too long or late. */
    final LongAdder badProxyHeaders = new LongAdder();

    Frontend(FrontendConfig config, ProxyBackend backend, ConnectionLimit global, AtomicInteger parkedTotal,
             AcceptGate gate) {
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
    public long acceptedCount() { return accepted.sum(); }
    public long timeoutCount() { return timeouts.sum(); }
    public long deniedCount() { return denied.sum(); }
    public long pinRefusedCount() { return pinRefused.sum(); }
    /** Connections to an accept-proxy bind closed for a missing, malformed, too long or late PROXY header. */
    public long badProxyHeaderCount() { return badProxyHeaders.sum(); }

    /** Hot path (one array index): the pool of the server {@code localPort} is pinned to, or null to balance. */
    PinnedPool pinned(int localPort) {
        return pins.get(localPort);
    }
}
