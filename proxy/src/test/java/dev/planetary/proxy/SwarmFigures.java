package dev.planetary.proxy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.ConfigParser;
import dev.planetary.core.config.ConfigResult;
import dev.planetary.proxy.swarm.FakeGenesis;
import dev.planetary.proxy.swarm.GenesisProcess;
import dev.planetary.proxy.swarm.Routes;
import dev.planetary.proxy.swarm.VmServer;
import dev.planetary.registry.client.Agent;
import dev.planetary.registry.client.AgentOptions;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * Measures issue 8's figures (not a test: run by hand, on a quiet machine, in a network namespace so that the
 * default port plan's ranges are free):
 * <ol>
 *   <li>register -> routable: the Genesis jar with its default plan, the proxy in-process binding 10000-19999 with
 *       pin-ports pcpu, 100 VMs (greeting servers on 127.0.0.x, agents registering from there) one after another:
 *       from the agent's 201 to the first connection through the VM's pinned port answered by that VM, and to the
 *       VM's server being in the backend (the entrance may choose it);</li>
 *   <li>leave -> unroutable: each agent leaves (DELETE answered), until its pinned port refuses;</li>
 *   <li>relist of 1,999 VMs: a scripted Genesis hands the proxy a snapshot of 1,999 VMs (all new, then a wholly
 *       different 1,999, then the same again, then the same with three VMs gone, three new and two draining), with four discovering backends as in conf/planetary.cfg (pfsshfs:
 *       balance source, hash-type consistent); the time to apply each, and the longest event-loop pause meanwhile,
 *       from a probe task every millisecond on each event loop.</li>
 * </ol>
 * <p>Run through {@link SwarmFiguresRun} (skipped unless {@code -Dswarm.figures=true}), after a {@code mvn package}
 * that built {@code registry/target/planetary-registry.jar}:
 * <pre>
 * unshare -n bash -c 'ip link set lo up &amp;&amp; mvn -B -o -pl proxy -am test -Dtest=SwarmFiguresRun \
 *   -Dsurefire.failIfNoSpecifiedTests=false -Dswarm.figures=true -Dtest.argLine=-Xss512k \
 *   -Dplanetary.registry.jar=$PWD/registry/target/planetary-registry.jar'
 * </pre>
 * (the figures land in {@code proxy/target/surefire-reports/dev.planetary.proxy.SwarmFiguresRun-output.txt};
 * {@code -Dtest.argLine} turns off the PARANOID leak detection of the tests, which would slow the proxy down).
 * {@code -Dswarm.figures.registrations=0} measures the relists only (no Genesis jar needed). Each relist also
 * prints what it cost the heap, which does not depend on the machine's load as pause times do: bytes allocated
 * (all threads, and by thread), young collections, the survivor space after the last one and the old generation's
 * growth. {@code -Dswarm.figures.histogram=DIR} writes class histograms around each relist (see {@link #histogram}),
 * {@code -Dswarm.figures.checks=true} health-checks the relisted servers.
 */
public final class SwarmFigures {

    /**
     * {@code -Dswarm.figures.checks=true}: the relist's backends check their servers ({@code default-server check
     * inter 5s}, as conf/planetary.cfg), to see what health checking adds to what a relist keeps. The VMs' 10.x
     * addresses have no route in a network namespace, so checks fail at once; no server goes down before the
     * histogram is taken (fall 3 at 5 s).
     */
    private static final boolean CHECKS = Boolean.getBoolean("swarm.figures.checks");

    /**
     * {@code -Dswarm.figures.repeat=N}: after the first four relists, N-1 more cycles of three (a wholly different
     * swarm, the same again, a few changes), to count pauses over 5 ms and full collections over many relists.
     */
    private static final int REPEAT = Math.max(1, Integer.getInteger("swarm.figures.repeat", 1));

    /** {@code -Dswarm.figures.loopPriority=N}: the proxy's {@code global} gets {@code loop-priority realtime N}. */
    private static final String LOOP_PRIORITY = Integer.getInteger("swarm.figures.loopPriority", 0) > 0
        ? "    loop-priority realtime " + Integer.getInteger("swarm.figures.loopPriority") + "\n" : "";

    private SwarmFigures() {
    }

    public static void main(String[] args) throws Exception {
        run(args.length > 0 ? Integer.parseInt(args[0]) : 100);
        System.exit(0);
    }

    static void run(int registrations) throws Exception {
        if (registrations > 0) {
            registerAndLeave(registrations);
        }
        relist(1_999);
    }

    private static Proxy start(String text) throws StartException {
        ConfigResult r = ConfigParser.parse("figures.cfg", text);
        if (!r.ok()) {
            throw new IllegalStateException(r.errors().toString());
        }
        return Proxy.start(r.config());
    }

    // ---- 1 and 2 ---------------------------------------------------------------------------------------------

    private static void registerAndLeave(int n) throws Exception {
        Path dir = Files.createTempDirectory("swarm-figures");
        try (GenesisProcess genesis = GenesisProcess.start(dir, "--heartbeat-interval", "5s")) {
            Proxy proxy = start("""
                global
                    maxconn 2000
                    nbthread 2
                %sdefaults
                    mode tcp
                    timeout connect 2s
                    timeout client 30s
                    timeout server 30s
                genesis swarm
                    url %s
                listen pcpu
                    bind 127.0.0.1:10000-19999
                    balance leastconn
                    discover genesis swarm service pcpu
                    pin-ports pcpu
                """.formatted(LOOP_PRIORITY, genesis.url()));
            List<VmServer> vms = new ArrayList<>();
            List<Agent> agents = new ArrayList<>();
            long[] pinned = new long[n];
            long[] inBackend = new long[n];
            try {
                waitFor(() -> proxy.discovery("swarm").viewsApplied() > 0, 30_000);
                for (int i = 0; i < n; i++) {
                    String ip = "127.0." + (1 + i / 200) + "." + (10 + i % 200);
                    VmServer vm = VmServer.start("vm" + i, ip);
                    vms.add(vm);
                    Agent a = Agent.start(AgentOptions.builder().genesis(genesis.url()).token(GenesisProcess.TOKEN)
                        .instance("fig-" + i).cores(2).service("pcpu", vm.port()).address(InetAddress.getByName(ip))
                        .build());
                    agents.add(a);
                    waitFor(a::registered, 10_000);
                    long t0 = System.nanoTime();
                    int port = a.ports().get("pcpu");
                    String id = a.vmId();
                    String name = vm.name();
                    long[] backendAt = {0};
                    waitFor(() -> {
                        if (backendAt[0] == 0 && proxy.backend("pcpu").servers().stream()
                            .anyMatch(s -> s.name().equals(id))) {
                            backendAt[0] = System.nanoTime();
                        }
                        return name.equals(Routes.who(port));
                    }, 10_000);
                    pinned[i] = System.nanoTime() - t0;
                    if (backendAt[0] == 0) {
                        waitFor(() -> proxy.backend("pcpu").servers().stream().anyMatch(s -> s.name().equals(id)),
                            10_000);
                        backendAt[0] = System.nanoTime();
                    }
                    inBackend[i] = backendAt[0] - t0;
                }
                report("register -> pinned port answered by the VM", pinned);
                report("register -> server in the backend (entrance)", inBackend);

                long[] leave = new long[n];
                for (int i = 0; i < n; i++) {
                    Agent a = agents.get(i);
                    int port = a.ports().get("pcpu");
                    a.close(); // returns once Genesis answered the DELETE (or gave up)
                    long t0 = System.nanoTime();
                    waitFor(() -> Routes.who(port) == null, 10_000);
                    leave[i] = System.nanoTime() - t0;
                }
                report("leave -> pinned port refuses", leave);
            } finally {
                agents.forEach(Agent::close);
                vms.forEach(VmServer::close);
                proxy.close();
            }
        } finally {
            try (java.util.stream.Stream<Path> files = Files.walk(dir)) { // Genesis' data and logs: nothing left
                for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    // ---- 3 ---------------------------------------------------------------------------------------------------

    private static void relist(int count) throws Exception {
        try (FakeGenesis genesis = FakeGenesis.start(0)) {
            genesis.plan(FakeGenesis.plan(Map.of("pcpu", new int[] {10_000, 19_999}, "pfsshfs",
                new int[] {20_000, 29_999}, "transfer", new int[] {30_000, 31_999}), 60_000));
            genesis.snapshot(() -> FakeGenesis.snapshot(1));
            Proxy proxy = start("""
                global
                    maxconn 2000
                    nbthread 2
                %sdefaults
                    mode tcp
                    timeout connect 2s
                    timeout client 30s
                    timeout server 30s
                genesis swarm
                    url %s
                listen pcpu
                    bind 127.0.0.1:10000-19999
                    balance leastconn
                    discover genesis swarm service pcpu
                    pin-ports pcpu
                listen pfsshfs
                    bind 127.0.0.1:20000-20063
                    balance source
                    hash-type consistent
                    discover genesis swarm service ssh
                    pin-ports pfsshfs
                listen transfer
                    bind 127.0.0.1:30000-30063
                    balance leastconn
                    discover genesis swarm service transfer
                    pin-ports transfer
                listen ws
                    bind 127.0.0.1:32000
                    balance leastconn
                    discover genesis swarm service ws
                """.formatted(LOOP_PRIORITY, genesis.url()).replace("    discover genesis", CHECKS
                ? "    default-server check inter 5s\n    discover genesis" : "    discover genesis"));
            Discovery d = proxy.discovery("swarm");
            try {
                waitFor(() -> d.version() == 1, 30_000);
                Probe idle = Probe.start(proxy);
                Thread.sleep(2_000);
                System.out.printf("event-loop probe, idle for 2 s: longest lateness %.2f ms%n", idle.stop() / 1e6);
                long version = 1;
                List<String> rounds = new ArrayList<>();
                rounds.add("all new");
                for (int r = 0; r < REPEAT; r++) {
                    rounds.addAll(List.of("a wholly different swarm", "the same again",
                        "a few changes (3 gone, 3 new, 2 draining)"));
                }
                int base = 0;
                Map<String, long[]> worst = new java.util.LinkedHashMap<>(); // round -> {count, max pause, over 5 ms}
                long fullBefore = fullCollections();
                for (String round : rounds) {
                    if (round.equals("a wholly different swarm")) {
                        base = base == 0 ? 100_000 : 0;
                    }
                    long v = ++version;
                    String snapshot = round.startsWith("a few") ? fewChanges(v, count, base) : swarm(v, count, base);
                    genesis.snapshot(() -> snapshot);
                    histogram(round, "before");
                    RelistCost cost = RelistCost.start();
                    Probe probe = Probe.start(proxy);
                    cost.restart(); // the probe's own start is not the relist's
                    long t0 = System.nanoTime();
                    long up0 = java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime();
                    genesis.dropConnections(); // the watch reconnects; Genesis "forgot" its version: a relist
                    genesis.snapshot(() -> snapshot);
                    long target = v;
                    waitFor(() -> d.version() == target, 60_000);
                    long took = System.nanoTime() - t0;
                    String spent = cost.stop();
                    Thread.sleep(200);
                    long pause = probe.stop();
                    // JVM uptimes, to match this relist with an -Xlog log; the stall's nanoTime, with a perf trace
                    System.out.printf("relist of %,d VMs (%s): applied %.1f ms after the stream was cut (apply itself"
                            + " %.1f ms); longest event-loop pause %.2f ms (ended at JVM uptime %.4f s, nanoTime %d);"
                            + " JVM uptime %.3f-%.3f s; backends %s%n    %s%n",
                        count, round, took / 1e6, d.lastApplyNanos() / 1e6, pause / 1e6, probe.worstUptimeSeconds(),
                        probe.worstAtNanos(), up0 / 1e3,
                        java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime() / 1e3,
                        proxy.backends().stream().map(b -> b.name() + "=" + b.servers().size()).toList(), spent);
                    histogram(round, "after");
                    long[] w = worst.computeIfAbsent(round, k -> new long[3]);
                    w[0]++;
                    w[1] = Math.max(w[1], pause);
                    w[2] += pause > TimeUnit.MILLISECONDS.toNanos(5) ? 1 : 0;
                }
                worst.forEach((round, w) -> System.out.printf("summary, %s: %d relists, longest event-loop pause"
                    + " %.2f ms, %d over 5 ms%n", round, w[0], w[1] / 1e6, w[2]));
                System.out.printf("summary: %d full collections during the relists%n", fullCollections() - fullBefore);
            } finally {
                proxy.close();
            }
        }
    }

    /**
     * With {@code -Dswarm.figures.histogram=DIR}, writes the live-object class histogram (jcmd's GC.class_histogram:
     * a full collection first, so only what is kept) to DIR before and after each relist, to find what a relist keeps
     * per server. Off by default: the full collection would disturb the pause figures.
     */
    private static void histogram(String round, String when) throws Exception {
        String dir = System.getProperty("swarm.figures.histogram");
        if (dir == null) {
            return;
        }
        Object text = java.lang.management.ManagementFactory.getPlatformMBeanServer().invoke(
            new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
            new Object[] {new String[0]}, new String[] {String[].class.getName()});
        java.nio.file.Path file = java.nio.file.Path.of(dir, round.replaceAll("[^a-z]+", "-") + "-" + when + ".txt");
        java.nio.file.Files.createDirectories(file.getParent());
        java.nio.file.Files.writeString(file, (String) text);
    }

    private static String swarm(long version, int count, int base) {
        String[] vms = new String[count];
        for (int i = 0; i < count; i++) {
            vms[i] = vm(base, i + 1, "active");
        }
        return FakeGenesis.snapshot(version, vms);
    }

    /** The swarm of {@code base} with its first three VMs gone, three new ones in their ports, two draining. */
    private static String fewChanges(long version, int count, int base) {
        String[] vms = new String[count];
        for (int i = 0; i < count; i++) {
            int o = i + 1;
            vms[i] = o <= 3 ? vm(base + 50_000, o, "active") : vm(base, o, o <= 5 ? "draining" : "active");
        }
        return FakeGenesis.snapshot(version, vms);
    }

    private static String vm(int base, int o, String state) {
        String id = String.format("vm_%06x", base + o);
        String ip = "10." + (o / 250) + "." + (o % 250) + ".1";
        return FakeGenesis.vm(id, ip, state, Map.of("pcpu", 7000, "ssh", 22, "transfer", 7100, "ws", 8080),
            Map.of("pcpu", 10_000 + o, "pfsshfs", 20_000 + o, "transfer", 30_000 + o));
    }

    /**
     * What a relist costs the heap, deterministic where pause times are not: bytes allocated by every live thread
     * (ThreadMXBean), young collections and their time, and what the young collections left in the survivor space
     * and promoted to the old generation (pool usage after the last collection).
     */
    private static final class RelistCost {
        private final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        private final java.util.Map<Long, Long> allocated = new java.util.HashMap<>();
        private long collections;
        private long collectionMillis;
        private long oldUsed;

        static RelistCost start() {
            RelistCost c = new RelistCost();
            c.restart();
            return c;
        }

        void restart() {
            allocated.clear();
            long[] ids = threads.getAllThreadIds();
            long[] bytes = threads.getThreadAllocatedBytes(ids);
            for (int i = 0; i < ids.length; i++) {
                allocated.put(ids[i], bytes[i]);
            }
            collections = young(true);
            collectionMillis = young(false);
            oldUsed = old();
        }

        String stop() {
            long[] ids = threads.getAllThreadIds();
            long[] bytes = threads.getThreadAllocatedBytes(ids);
            long sum = 0;
            java.util.Map<String, Long> byThread = new java.util.TreeMap<>();
            for (int i = 0; i < ids.length; i++) {
                if (bytes[i] > 0) {
                    long b = bytes[i] - allocated.getOrDefault(ids[i], 0L);
                    sum += b;
                    java.lang.management.ThreadInfo info = threads.getThreadInfo(ids[i]);
                    if (info != null && b >= 100_000) {
                        byThread.merge(info.getThreadName().replaceAll("[0-9]+$", "N"), b, Long::sum);
                    }
                }
            }
            long survivor = 0;
            for (java.lang.management.MemoryPoolMXBean p : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
                if (p.getName().contains("Survivor") && p.getCollectionUsage() != null) {
                    survivor += p.getCollectionUsage().getUsed();
                }
            }
            return String.format("heap: %.1f MB allocated; %d young collections (%d ms); survivor after the last"
                    + " %.2f MB; old generation %+.2f MB; by thread (MB) %s", sum / 1e6, young(true) - collections,
                young(false) - collectionMillis, survivor / 1e6, (old() - oldUsed) / 1e6,
                byThread.entrySet().stream().map(e -> e.getKey() + "=" + String.format("%.1f", e.getValue() / 1e6))
                    .toList());
        }

        private static long young(boolean count) {
            return collections(name -> name.contains("Scavenge") || name.contains("Young") || name.equals("Copy"),
                count);
        }

        private static long old() {
            long n = 0;
            for (java.lang.management.MemoryPoolMXBean p : java.lang.management.ManagementFactory.getMemoryPoolMXBeans()) {
                if (p.getName().contains("Old Gen") || p.getName().contains("Tenured")) {
                    n += p.getUsage().getUsed();
                }
            }
            return n;
        }
    }

    /** Full collections: ParallelGC's "PS MarkSweep", Serial's "MarkSweepCompact", G1's "G1 Old Generation". */
    private static long fullCollections() {
        return collections(name -> name.contains("MarkSweep") || name.contains("Old"), true);
    }

    /** The collection count (or, with {@code count} false, the milliseconds) of the collectors so named. */
    private static long collections(java.util.function.Predicate<String> named, boolean count) {
        long n = 0;
        for (java.lang.management.GarbageCollectorMXBean gc
            : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            if (named.test(gc.getName())) {
                n += count ? gc.getCollectionCount() : gc.getCollectionTime();
            }
        }
        return n;
    }

    /**
     * A task every millisecond on every event loop, recording how late it ran, and when the latest run ended (as JVM
     * uptime, to find the stall in an {@code -Xlog} log: its decorations count from the same start).
     */
    private static final class Probe {
        private final List<ScheduledFuture<?>> tasks = new ArrayList<>();
        private final AtomicLong maxLate = new AtomicLong();
        private final AtomicLong worstAtNanos = new AtomicLong();
        private final long refNanos = System.nanoTime();
        private final long refUptimeMillis = java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime();

        static Probe start(Proxy proxy) throws Exception {
            java.lang.reflect.Field f = Proxy.class.getDeclaredField("group");
            f.setAccessible(true);
            EventLoopGroup group = (EventLoopGroup) f.get(proxy);
            Probe p = new Probe();
            for (EventExecutor loop : group) {
                long period = TimeUnit.MILLISECONDS.toNanos(1);
                long[] next = {System.nanoTime() + period};
                p.tasks.add(loop.scheduleAtFixedRate(() -> {
                    long now = System.nanoTime();
                    long late = now - next[0];
                    next[0] = now + period;
                    synchronized (p) { // one lateness and its time, both from the same run
                        if (late > p.maxLate.get()) {
                            p.maxLate.set(late);
                            p.worstAtNanos.set(now);
                        }
                    }
                }, 1, 1, TimeUnit.MILLISECONDS));
            }
            Thread.sleep(100);
            synchronized (p) {
                p.maxLate.set(0);
            }
            return p;
        }

        /** {@link System#nanoTime()} of the latest run: CLOCK_MONOTONIC, as {@code perf record -k CLOCK_MONOTONIC}. */
        long worstAtNanos() {
            synchronized (this) {
                return worstAtNanos.get();
            }
        }

        /** JVM uptime, in seconds, when the latest run of the probe ran. */
        double worstUptimeSeconds() {
            synchronized (this) {
                return (refUptimeMillis + (worstAtNanos.get() - refNanos) / 1e6) / 1e3;
            }
        }

        long stop() {
            tasks.forEach(t -> t.cancel(false));
            return maxLate.get();
        }
    }

    private static void report(String what, long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        System.out.printf("%s (n=%d): p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms%n", what, s.length,
            pct(s, 50) / 1e6, pct(s, 90) / 1e6, pct(s, 99) / 1e6, s[s.length - 1] / 1e6);
    }

    private static long pct(long[] sorted, double p) {
        int i = (int) Math.ceil(p / 100 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private static void waitFor(BooleanSupplier c, long ms) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                throw new IllegalStateException("timed out");
            }
            Thread.sleep(1);
        }
    }
}
