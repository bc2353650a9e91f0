package dev.planetary.proxy.stats;

/**
 * HAProxy's {@code swrate}: an average over about the last {@link #SAMPLES} values without keeping them: a sum that
 * loses a 1/N share at each new value ({@code sum = sum - (sum + N - 1) / N + v}); the average is
 * {@code (sum + w - 1) / w} with {@code w} the samples taken so far, at most N (HAProxy's {@code srv_samples_window}).
 * Per thread in a counter slot; the averages of the threads are weighted by their windows when read.
 */
public final class SlidingAverage {

    /** HAProxy's TIME_STATS_SAMPLES: the ctime/qtime/ttime columns average the last 1024 sessions. */
    public static final int SAMPLES = 1024;

    private SlidingAverage() {
    }

    /** Adds a value to the caller's own slot: the sum at {@code sumField}, its maximum at {@code maxField}. */
    public static void add(long[] slot, int sumField, int maxField, long value) {
        long sum = slot[sumField];
        Counters.set(slot, sumField, sum - (sum + SAMPLES - 1) / SAMPLES + value);
        Counters.max(slot, maxField, value);
    }

    /** The average over every slot, each weighted by its window of samples ({@code samplesField}). */
    public static long read(Counters counters, int sumField, int samplesField) {
        long weighted = 0;
        long windows = 0;
        for (long[] s : counters.slots()) {
            if (s == null) {
                continue;
            }
            long w = Math.min(SAMPLES, Counters.read(s, samplesField));
            if (w > 0) {
                long sum = Counters.read(s, sumField);
                weighted += (sum + w - 1) / w * w;
                windows += w;
            }
        }
        return windows == 0 ? 0 : weighted / windows;
    }
}
