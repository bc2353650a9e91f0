package dev.planetary.proxy.stats;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend's counters and its servers' stats by name. A server's stats outlive a replace that keeps its name (the
 * registry moving it, {@code set server addr}) and end with {@link #forget} when it leaves (HAProxy's new server
 * after {@code del server}/{@code add server} starts from zero too).
 */
public final class BackendStats {

    private final String name;
    private final int iid;
    private final Counters counters = new Counters();
    private final ServerStatsTable servers = new ServerStatsTable();
    private final AtomicInteger nextSid = new AtomicInteger(1);
    final MaxSampler rateMax = new MaxSampler();
    final MaxSampler sessionsMax = new MaxSampler();
    final MaxSampler queueMax = new MaxSampler();
    private final StateClock state;

    BackendStats(String name, int iid, long nowNanos) {
        this.name = name;
        this.iid = iid;
        this.state = new StateClock(nowNanos);
    }

    /** Stats of a backend that is not part of a proxy's {@link ProxyStats} (tests of one part). */
    public static BackendStats standalone(String name) {
        return new BackendStats(name, 0, ProxyStats.now());
    }

    public String name() { return name; }
    public int iid() { return iid; }
    public Counters counters() { return counters; }
    public StateClock state() { return state; }

    /** The stats of a server of this backend, made on first use (a lock-free map read once it exists). */
    public ServerStats server(String serverName) {
        ServerStats s = servers.get(serverName);
        return s != null ? s : servers.computeIfAbsent(serverName,
            n -> new ServerStats(n, nextSid.getAndIncrement(), ProxyStats.now()));
    }

    /** The stats of a server, or null if it never had any. */
    public ServerStats serverIfPresent(String serverName) {
        return servers.get(serverName);
    }

    /** A server left the backend: its counters go with it. */
    public void forget(String serverName) {
        servers.remove(serverName);
    }

    /** Sessions in the backend now (waiting in its queue included): exact, summed over the threads. */
    public long sessions() {
        return Math.max(0, counters.sum(Counters.CUR));
    }

    public long queued() {
        return Math.max(0, counters.sum(Counters.QCUR));
    }

    public long sessionsMax() {
        return sessionsMax.offer(sessions());
    }

    public long queueMax() {
        return queueMax.offer(queued());
    }

    public long rate(long nowNanos) {
        return FreqCounter.read(counters, nowNanos);
    }

    public long rateMax(long nowNanos) {
        return rateMax.offer(rate(nowNanos));
    }

    Iterable<ServerStats> servers() {
        return servers;
    }
}
