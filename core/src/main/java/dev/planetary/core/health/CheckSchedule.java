package dev.planetary.core.health;

/**
 * When one server's active checks run. Pure logic with time as an argument ({@code nowNanos} from any monotonic
 * clock): the caller owns the clock and the timer.
 *
 * <p>The first check waits a jitter fixed per server in {@code [1 ms, min(inter, 1 s)]}, so that thousands of servers
 * added at once (a start, a registry view change) are not probed in one burst, yet each is checked within a second.
 * Later checks start {@code inter} after the previous one ended, as HAProxy's, so a slow check never overlaps the
 * next one.
 */
public final class CheckSchedule {

    /** Longest wait for a server's first check: soon enough to learn about a dead server within a second. */
    public static final long MAX_FIRST_DELAY_NANOS = 1_000_000_000L;
    /** Shortest wait for a first check (the timer's resolution is about a millisecond anyway). */
    public static final long MIN_FIRST_DELAY_NANOS = 1_000_000L;

    private final long interNanos;
    private final long firstDelayNanos;

    /**
     * @param interNanos the check interval ({@code inter}), > 0
     * @param jitterSeed any value, e.g. from a random source; the same seed gives the same first delay
     */
    public CheckSchedule(long interNanos, long jitterSeed) {
        if (interNanos <= 0) {
            throw new IllegalArgumentException("inter must be > 0: " + interNanos);
        }
        this.interNanos = interNanos;
        long span = Math.max(1, Math.min(interNanos, MAX_FIRST_DELAY_NANOS) - MIN_FIRST_DELAY_NANOS);
        this.firstDelayNanos = MIN_FIRST_DELAY_NANOS + Math.floorMod(mix64(jitterSeed), span);
    }

    public long interNanos() {
        return interNanos;
    }

    /** When the first check is due, for a server watched from {@code nowNanos}. */
    public long firstDue(long nowNanos) {
        return nowNanos + firstDelayNanos;
    }

    /** When the next check is due, the previous one having ended at {@code endedNanos}. */
    public long nextDue(long endedNanos) {
        return nextDue(endedNanos, interNanos);
    }

    /**
     * As {@link #nextDue(long)}, for a caller that keeps only the interval once the first check is scheduled (a
     * checker of thousands of servers keeps no schedule object per server).
     */
    public static long nextDue(long endedNanos, long interNanos) {
        return endedNanos + interNanos;
    }

    /** How long a timer set at {@code nowNanos} waits for {@code dueNanos}: never negative. */
    public static long delayNanos(long dueNanos, long nowNanos) {
        return Math.max(0, dueNanos - nowNanos);
    }

    private static long mix64(long z) {
        z ^= z >>> 33;
        z *= 0xff51afd7ed558ccdL;
        z ^= z >>> 33;
        z *= 0xc4ceb9fe1a85ec53L;
        z ^= z >>> 33;
        return z;
    }
}
