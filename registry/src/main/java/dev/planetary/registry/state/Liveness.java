package dev.planetary.registry.state;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A VM's heartbeat state. Heartbeats update it on the HTTP threads, without a trip through the registry's writer
 * (they change nothing durable, and waiting behind the writer's fsync was the heartbeat's latency tail); the writer
 * reads it to expire lapsed VMs. Expiry and a heartbeat race through one compare-and-set on {@link #lastSeenNanos}:
 * either the heartbeat lands first and the VM stays, or the expiry does and the heartbeat is told the VM is gone.
 * Not persisted: after a restart every VM counts as seen at the restart.
 */
public final class Liveness {

    /** {@link #lastSeenNanos} of a VM that expired or was removed: heartbeats on it are refused. */
    private static final long GONE = Long.MIN_VALUE;
    private static final VarHandle LAST_SEEN;

    static {
        try {
            LAST_SEEN = MethodHandles.lookup().findVarHandle(Liveness.class, "lastSeenNanos", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile long lastSeenNanos;
    private volatile double load = Double.NaN;
    private volatile double cpuPercent = Double.NaN;

    Liveness(long nowNanos) {
        this.lastSeenNanos = nowNanos;
    }

    public long lastSeenNanos() { return lastSeenNanos; }
    public double load() { return load; }
    public double cpuPercent() { return cpuPercent; }

    /**
     * Records a heartbeat at {@code nowNanos}, with the reported load and CPU (NaN: not reported); any thread.
     * False when the VM is gone (expired or removed): the caller answers 404 and the VM registers again.
     */
    public boolean beat(long nowNanos, double reportedLoad, double reportedCpuPercent) {
        for (;;) {
            long seen = lastSeenNanos;
            if (seen == GONE) {
                return false;
            }
            // a concurrent, later heartbeat already moved it forward: keep the later time
            if (nowNanos - seen <= 0 || LAST_SEEN.compareAndSet(this, seen, nowNanos)) {
                break;
            }
        }
        if (!Double.isNaN(reportedLoad)) {
            load = reportedLoad;
        }
        if (!Double.isNaN(reportedCpuPercent)) {
            cpuPercent = reportedCpuPercent;
        }
        return true;
    }

    /** True when no heartbeat came for longer than {@code ttlNanos}. */
    boolean lapsed(long nowNanos, long ttlNanos) {
        long seen = lastSeenNanos;
        return seen != GONE && nowNanos - seen > ttlNanos;
    }

    /** Marks the VM gone if it is still lapsed; false when a heartbeat arrived in the meantime (it stays). */
    boolean expire(long nowNanos, long ttlNanos) {
        long seen = lastSeenNanos;
        return seen != GONE && nowNanos - seen > ttlNanos && LAST_SEEN.compareAndSet(this, seen, GONE);
    }

    /**
     * Counts the VM as lapsed now (its heartbeat lease in a shared store lapsed: no instance heard from it for a
     * TTL), unless it is gone or a heartbeat moved it forward meanwhile.
     */
    public void lapse(long nowNanos, long ttlNanos) {
        long seen = lastSeenNanos;
        long lapsedAt = nowNanos - ttlNanos - 1;
        if (seen != GONE && seen - lapsedAt > 0) {
            LAST_SEEN.compareAndSet(this, seen, lapsedAt);
        }
    }

    /** True once the VM expired or was removed. */
    boolean gone() {
        return lastSeenNanos == GONE;
    }

    /** The VM left or was removed: later heartbeats are refused. */
    void markGone() {
        lastSeenNanos = GONE;
    }
}
