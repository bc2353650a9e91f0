package dev.planetary.proxy;

import dev.planetary.core.config.FrontendConfig;
import dev.planetary.core.connect.IdleLimits;
import dev.planetary.core.connect.RetryPolicy;
import dev.planetary.core.connect.ServerPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** A frontend as the running proxy sees it: its listeners, its maxconn, its backend and its counters. */
public final class Frontend {

    private final FrontendConfig config;
    private final ProxyBackend backend;
    final ConnectionLimit limit;
    final ConnectionLimit global;
    /** Per-frontend, computed once: what every connection's connect attempt and idle deadlines read. */
    final ServerPool pool;
    final RetryPolicy retryPolicy;
    final IdleLimits idleLimits;

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
        this.config = config;
        this.backend = backend;
        this.global = global;
        this.limit = new ConnectionLimit("frontend " + config.name(), config.maxconn(), parkedTotal, gate::reconcile);
        this.pool = new BackendPool(backend);
        this.retryPolicy = RetryPolicy.of(backend.config());
        this.idleLimits = IdleLimits.of(config, backend.config());
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
