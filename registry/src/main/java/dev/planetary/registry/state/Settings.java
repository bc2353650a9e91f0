package dev.planetary.registry.state;

import java.time.Duration;

/** Liveness and port-reuse timing of a registry. Every default is a constant with its reason. */
public record Settings(Duration heartbeatInterval, Duration ttl, Duration drainPeriod, Duration grace) {

    /** The swarm's VMs heartbeat every 5 s (the default). */
    public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(5);
    /** Three missed heartbeats before a VM expires: one lost packet or a GC pause does not remove a VM. */
    public static final Duration DEFAULT_TTL = Duration.ofSeconds(15);
    /**
     * A leaving VM stays listed as draining this long before it is removed, so that subscribers (the proxy) stop
     * sending it new connections while its live ones finish.
     */
    public static final Duration DEFAULT_DRAIN_PERIOD = Duration.ofSeconds(10);
    /**
     * A removed VM's ports stay reserved this long: a VM that expired (a network blip longer than the TTL) and comes
     * back with its instance key gets its id and ports back, and a port is not handed to a new VM while a proxy may
     * still hold connections for the old one.
     */
    public static final Duration DEFAULT_GRACE = Duration.ofSeconds(60);

    public Settings {
        if (heartbeatInterval.isNegative() || heartbeatInterval.isZero()) {
            throw new IllegalArgumentException("heartbeat interval must be positive");
        }
        if (ttl.compareTo(heartbeatInterval) <= 0) {
            throw new IllegalArgumentException("ttl (" + ttl.toMillis() + " ms) must be longer than the heartbeat interval ("
                + heartbeatInterval.toMillis() + " ms)");
        }
        if (drainPeriod.isNegative()) {
            throw new IllegalArgumentException("drain period must not be negative");
        }
        if (grace.isNegative()) {
            throw new IllegalArgumentException("grace must not be negative");
        }
    }

    public static Settings defaults() {
        return new Settings(DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_TTL, DEFAULT_DRAIN_PERIOD, DEFAULT_GRACE);
    }
}
