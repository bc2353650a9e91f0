package dev.planetary.proxy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.FrontendConfig;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** A frontend as the running proxy sees it: its listeners, its maxconn, its backend and its counters. */
public final class Frontend {

    private final FrontendConfig config;
    private final ProxyBackend backend;
    final ConnectionLimit limit;
    final ConnectionLimit global;
    final long clientTimeoutNanos;
    final long clientFinTimeoutNanos;

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

    Frontend(FrontendConfig config, ProxyBackend backend, ConnectionLimit global, AtomicInteger parkedTotal,
             AcceptGate gate) {
        this.config = config;
        this.backend = backend;
        this.global = global;
        this.limit = new ConnectionLimit("frontend " + config.name(), config.maxconn(), parkedTotal, gate::reconcile);
        this.clientTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(config.clientTimeoutMs());
        this.clientFinTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(config.clientFinTimeoutMs());
    }

    public String name() { return config.name(); }
    public FrontendConfig config() { return config; }
    public ProxyBackend backend() { return backend; }
    public int activeConnections() { return limit.count(); }
    public long acceptedCount() { return accepted.sum(); }
    public long timeoutCount() { return timeouts.sum(); }
    public long deniedCount() { return denied.sum(); }
    public long pinRefusedCount() { return pinRefused.sum(); }

    /** Hot path (one array index): the server a connection to {@code localPort} is pinned to, or null to balance. */
    Server pinned(int localPort) {
        return pins.get(localPort);
    }

    /** Claims a slot on the pinned server, or counts the refusal: a pinned port never goes to another server. */
    boolean claimPinned(Server pinned) {
        if (pinned.usable() && pinned.tryAcquire()) {
            return true;
        }
        pinRefused.increment();
        return false;
    }
}
