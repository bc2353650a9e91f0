package dev.planetary.proxy.stats;

/** The process-wide figures of {@code show info}: connections accepted, their rate, start time. */
public final class GlobalStats {

    private final Counters counters = new Counters();
    final MaxSampler rateMax = new MaxSampler();
    private final long startNanos;
    private final long startEpochSeconds;

    GlobalStats(long startNanos, long startEpochSeconds) {
        this.startNanos = startNanos;
        this.startEpochSeconds = startEpochSeconds;
    }

    /** Accepted connections ({@link Counters#STOT}) and their rate. */
    public Counters counters() { return counters; }

    public long uptimeSeconds(long nowNanos) {
        return Math.max(0, (nowNanos - startNanos) / FreqCounter.SECOND);
    }

    public long startEpochSeconds() { return startEpochSeconds; }

    public long rate(long nowNanos) {
        return FreqCounter.read(counters, nowNanos);
    }

    public long rateMax(long nowNanos) {
        return rateMax.offer(rate(nowNanos));
    }
}
