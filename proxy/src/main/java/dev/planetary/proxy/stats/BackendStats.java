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

    /**
     * The stats of a server about to join this backend (or a member), made if absent. The backend's owner only (its
     * control agent, before it publishes the snapshot the server joins in): every other reader holds a snapshot that
     * may be stale, and making stats for a server that has left would keep them for good (a later server of the
     * same name would start from them). Readers use {@link #serverIfPresent}.
     */
    public ServerStats joining(String serverName) {
        ServerStats s = servers.get(serverName);
        return s != null ? s : servers.computeIfAbsent(serverName,
            n -> new ServerStats(n, nextSid.getAndIncrement(), ProxyStats.now()));
    }

    /**
     * The stats of a server, or null if it has none: it left (or had not joined) while the caller held a snapshot
     * with it. Any thread, no lock, nothing made.
     */
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
