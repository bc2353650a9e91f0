package dev.planetary.proxy.stats;

/** A frontend's counters ({@link Counters}: STOT, BIN, BOUT, DREQ, EREQ, CLI_ABRT, SRV_ABRT, SMAX, rate). */
public final class FrontendStats {

    private final String name;
    private final int iid;
    private final Counters counters = new Counters();
    final MaxSampler rateMax = new MaxSampler();

    FrontendStats(String name, int iid) {
        this.name = name;
        this.iid = iid;
    }

    /** Stats of a frontend that is not part of a proxy's {@link ProxyStats} (tests of one part). */
    public static FrontendStats standalone(String name) {
        return new FrontendStats(name, 0);
    }

    public String name() { return name; }
    /** HAProxy's proxy id ({@code iid}): frontends and backends numbered in config order from 2 (1 is the CLI). */
    public int iid() { return iid; }
    public Counters counters() { return counters; }

    /** Connections per second over the last second. */
    public long rate(long nowNanos) {
        return FreqCounter.read(counters, nowNanos);
    }

    public long rateMax(long nowNanos) {
        return rateMax.offer(rate(nowNanos));
    }
}
