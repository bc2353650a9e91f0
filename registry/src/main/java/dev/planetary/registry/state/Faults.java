package dev.planetary.registry.state;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * When Genesis itself was unhealthy: it could not accept connections, its writer or an event loop stalled. A VM whose
 * heartbeats fell into such a window may have sent them and been unheard, so the registry holds expiry until every VM
 * has had a whole TTL of healthy time after the window to heartbeat again, as self-preservation does when many VMs
 * lapse at once. Any thread reports; the writer reads. Times are the registry clock's ({@link Clock#nanos()}).
 */
public final class Faults {

    /** No fault reported yet. */
    private static final long NONE = Long.MIN_VALUE;

    private final AtomicLong lastEnd = new AtomicLong(NONE);
    private final LongAdder reports = new LongAdder();
    private volatile String lastWhat = "";

    /** Genesis was unhealthy until {@code untilNanos} (a fault still going on reports again). */
    public void report(String what, long untilNanos) {
        reports.increment();
        lastWhat = what;
        lastEnd.accumulateAndGet(untilNanos, (a, b) -> a == NONE || b - a > 0 ? b : a);
    }

    /** True while expiry is held: less than {@code ttlNanos} has passed since the end of the last fault. */
    public boolean holding(long nowNanos, long ttlNanos) {
        long end = lastEnd.get();
        return end != NONE && nowNanos - end <= ttlNanos;
    }

    /** Faults reported so far. */
    public long reports() {
        return reports.sum();
    }

    /** What the last report was about (for the log and the health answer). */
    public String lastWhat() {
        return lastWhat;
    }
}
