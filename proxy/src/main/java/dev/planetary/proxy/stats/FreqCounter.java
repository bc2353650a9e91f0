package dev.planetary.proxy.stats;

/**
 * Events per second over a sliding second, as HAProxy's {@code freq_ctr}: the count of the current second plus the
 * previous second's count weighted by the part of it still inside the window. Kept per thread in a counter slot
 * ({@link Counters#RATE_SEC}, {@link Counters#RATE_CUR}, {@link Counters#RATE_PREV}) and summed over the slots
 * when read. Time is an argument (monotonic nanoseconds: every thread's {@code ProxyStats.now()} base).
 */
public final class FreqCounter {

    static final long SECOND = 1_000_000_000L;

    private FreqCounter() {
    }

    /** Counts one event in the caller's own slot. */
    public static void increment(long[] slot, long nowNanos) {
        long sec = Math.floorDiv(nowNanos, SECOND);
        long seen = slot[Counters.RATE_SEC];
        if (sec != seen) {
            // a new second: the last one becomes the previous (or nothing, if more than one went by)
            Counters.set(slot, Counters.RATE_PREV, sec == seen + 1 ? slot[Counters.RATE_CUR] : 0);
            Counters.set(slot, Counters.RATE_CUR, 0);
            Counters.set(slot, Counters.RATE_SEC, sec);
        }
        Counters.increment(slot, Counters.RATE_CUR);
    }

    /**
     * The rate over every slot at {@code nowNanos}. A slot is read field by field while its thread may be rolling
     * it over to a new second; such a read is off by at most that thread's events of one second, once.
     */
    public static long read(Counters counters, long nowNanos) {
        long[] curPrev = sum(counters, Math.floorDiv(nowNanos, SECOND));
        return rate(curPrev[0], curPrev[1], Math.floorMod(nowNanos, SECOND));
    }

    /** The events of the second that ended before the one {@code nowNanos} is in (for maxima sampled per second). */
    public static long lastSecond(Counters counters, long nowNanos) {
        return sum(counters, Math.floorDiv(nowNanos, SECOND))[1];
    }

    /** {current second's events, previous second's} over every slot, as of second {@code sec}. */
    private static long[] sum(Counters counters, long sec) {
        long cur = 0;
        long prev = 0;
        for (long[] s : counters.slots()) {
            if (s == null) {
                continue;
            }
            long slotSec = Counters.read(s, Counters.RATE_SEC);
            if (slotSec == sec) {
                cur += Counters.read(s, Counters.RATE_CUR);
                prev += Counters.read(s, Counters.RATE_PREV);
            } else if (slotSec == sec - 1) {
                prev += Counters.read(s, Counters.RATE_CUR);
            }
        }
        return new long[] {cur, prev};
    }

    /** HAProxy's {@code read_freq_ctr}: cur + prev x (remaining part of the second), rounded down. */
    static long rate(long cur, long prev, long intoSecondNanos) {
        return cur + prev * (SECOND - intoSecondNanos) / SECOND;
    }
}
