package dev.planetary.registry.state;

/**
 * A VM's heartbeat state: written by the registry's writer, read by HTTP threads (hence volatile). Not persisted:
 * after a restart every VM counts as seen at the restart.
 */
public final class Liveness {
    volatile long lastSeenNanos;
    volatile double load = Double.NaN;
    volatile double cpuPercent = Double.NaN;

    Liveness(long nowNanos) {
        this.lastSeenNanos = nowNanos;
    }

    public long lastSeenNanos() { return lastSeenNanos; }
    public double load() { return load; }
    public double cpuPercent() { return cpuPercent; }
}
