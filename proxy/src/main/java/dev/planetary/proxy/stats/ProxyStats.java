package dev.planetary.proxy.stats;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Every counter of a running proxy: the process ({@link GlobalStats}), each frontend and backend (in config order,
 * numbered as HAProxy numbers proxies) and their servers. Writers (event loops) count into their own slots; readers
 * ({@code show stat}, the stats page, {@code /metrics}) go through {@link StatsCollector}.
 *
 * <p>The maxima that cannot be kept per thread (a whole second's rate, a backend's sessions and queue) are sampled
 * by {@link #sample} once a second on a daemon thread of their own, and again at every read.
 */
public final class ProxyStats implements AutoCloseable {

    /** How often the per-second maxima are sampled: once per rate window. */
    static final long SAMPLE_PERIOD_MS = 1_000;

    private final GlobalStats global;
    // Published whole (read by the sampler, the stats socket, page and metrics); replaced by a reload (reconfigure).
    private volatile Map<String, FrontendStats> frontends = Map.of();
    private volatile Map<String, BackendStats> backends = Map.of();
    /** The next proxy number (iid) to give: a reload's new sections are numbered after every number ever given. */
    private int nextIid = 2;
    private ScheduledExecutorService sampler;

    /**
     * @param sections      every frontend and backend name in the order of the config's sections: HAProxy numbers
     *                      its proxies (iid) in that order from 2 (1 is its CLI's), and a {@code listen} section
     *                      (both) has one number
     * @param frontendNames and {@code backendNames}: which of them are frontends, backends
     */
    public ProxyStats(List<String> sections, Collection<String> frontendNames, Collection<String> backendNames,
                      long nowNanos, long nowEpochSeconds) {
        this.global = new GlobalStats(nowNanos, nowEpochSeconds);
        reconfigure(sections, frontendNames, backendNames, nowNanos);
    }

    /**
     * The sections of a (re)loaded config: a frontend or backend whose name stays keeps its counters and its
     * number; new ones are numbered after every number given so far (a number is never reused for another proxy,
     * so a script comparing two {@code show stat} outputs by iid is never misled); removed ones go.
     */
    public synchronized void reconfigure(List<String> sections, Collection<String> frontendNames,
                                         Collection<String> backendNames, long nowNanos) {
        Map<String, Integer> ids = new LinkedHashMap<>();
        frontends.values().forEach(f -> ids.put(f.name(), f.iid()));
        backends.values().forEach(b -> ids.put(b.name(), b.iid()));
        List<String> order = new java.util.ArrayList<>(sections);
        order.addAll(frontendNames);
        order.addAll(backendNames);
        for (String s : order) {
            if (!ids.containsKey(s)) {
                ids.put(s, nextIid++);
            }
        }
        Map<String, FrontendStats> fs = new LinkedHashMap<>();
        for (String f : frontendNames) {
            FrontendStats was = frontends.get(f);
            fs.put(f, was != null ? was : new FrontendStats(f, ids.get(f)));
        }
        Map<String, BackendStats> bs = new LinkedHashMap<>();
        for (String b : backendNames) {
            BackendStats was = backends.get(b);
            bs.put(b, was != null ? was : new BackendStats(b, ids.get(b), nowNanos));
        }
        frontends = Collections.unmodifiableMap(fs);
        backends = Collections.unmodifiableMap(bs);
    }

    /**
     * The time base of every stats timestamp: Netty's system ticker, which the event loops' {@code LoopClock}s read
     * (it is {@code System.nanoTime()} from an origin of Netty's, so it must not be mixed with raw nanoTime).
     */
    public static long now() {
        return io.netty.util.concurrent.Ticker.systemTicker().nanoTime();
    }

    public GlobalStats global() { return global; }
    public FrontendStats frontend(String name) { return frontends.get(name); }
    public BackendStats backend(String name) { return backends.get(name); }
    public Collection<FrontendStats> frontends() { return Collections.unmodifiableCollection(frontends.values()); }
    public Collection<BackendStats> backends() { return Collections.unmodifiableCollection(backends.values()); }

    /** Starts the once-a-second sampling of maxima. */
    public void start() {
        sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "planetary-stats");
            t.setDaemon(true);
            return t;
        });
        sampler.scheduleAtFixedRate(() -> sample(now()), SAMPLE_PERIOD_MS, SAMPLE_PERIOD_MS,
            TimeUnit.MILLISECONDS);
    }

    /** Offers the last whole second's rates and the current backend sessions and queues to the maxima. */
    public void sample(long nowNanos) {
        global.rateMax.offer(FreqCounter.lastSecond(global.counters(), nowNanos));
        for (FrontendStats f : frontends.values()) {
            f.rateMax.offer(FreqCounter.lastSecond(f.counters(), nowNanos));
        }
        for (BackendStats b : backends.values()) {
            b.rateMax.offer(FreqCounter.lastSecond(b.counters(), nowNanos));
            b.sessionsMax();
            b.queueMax();
            for (ServerStats s : b.servers()) {
                s.offerRateMax(FreqCounter.lastSecond(s.counters(), nowNanos));
            }
        }
    }

    @Override
    public void close() {
        if (sampler != null) {
            sampler.shutdownNow();
        }
    }
}
