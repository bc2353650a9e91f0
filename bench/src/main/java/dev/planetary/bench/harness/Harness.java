package dev.planetary.bench.harness;

import dev.planetary.bench.net.LoadGen;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The load harness: direct, haproxy and planetary measured in one run, alternating targets (A B C A B C ...) so
 * that machine drift falls on all of them alike. Every figure is measured {@code --reps} times per target and
 * reported as median [min-max].
 *
 * <p>Processes: this one is the generator ({@link LoadGen}, Netty epoll); the backends run in a process of their
 * own ({@code backend}), started once and shared by every target; each proxy runs in its own process, started
 * fresh for each group of figures.
 */
public final class Harness {

    private final Options o;
    private final Path work;
    private final Map<Figure, Map<String, List<Double>>> results = new EnumMap<>(Figure.class);
    private final List<String> notes = new ArrayList<>();
    private List<Integer> sinks;
    private List<Integer> echos;
    private int base;

    private Harness(Options o, Path work) {
        this.o = o;
        this.work = work;
        for (Figure f : Figure.values()) {
            Map<String, List<Double>> m = new LinkedHashMap<>();
            for (Target t : Target.values()) {
                m.put(t.label(), new ArrayList<>());
            }
            for (TargetSpec t : o.targets) {
                m.put(t.label(), new ArrayList<>());
            }
            results.put(f, m);
        }
    }

    public static int run(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return 64;
        }
        if (o.targets.stream().anyMatch(t -> t.kind() == Target.PLANETARY && !Files.isRegularFile(t.jarOr(o.proxyJar)))) {
            System.err.println("planetary-proxy.jar not found at " + o.proxyJar + " (build: mvn -B -DskipTests package)");
            return 1;
        }
        if (o.targets.stream().anyMatch(t -> t.kind() == Target.HAPROXY) && !Files.isExecutable(Path.of(o.haproxy))) {
            System.err.println("haproxy not found at " + o.haproxy + " (apt-get install haproxy)");
            return 1;
        }
        Path work = Files.createTempDirectory("planetary-bench");
        Harness h = new Harness(o, work);
        h.execute();
        String table = Report.table(o, h.results);
        System.out.println();
        System.out.println(table);
        Report.write(o, h.results, h.notes, table);
        System.out.println("results written to " + o.out.toAbsolutePath());
        return 0;
    }

    private void execute() throws Exception {
        if (o.pin) {
            // the generator (this JVM, all its threads) on the generator CPUs; the proxies get the others
            exec(List.of("taskset", "-a", "-p", "-c", o.generatorCpus, Long.toString(ProcessHandle.current().pid())));
        }
        Process backend = startBackend();
        try (LoadGen gen = new LoadGen(o.generatorThreads, o.sources)) {
            base = Ports.freeRange(o.portLow, o.portHigh, 4);
            int maxconn = Math.min(9_400, o.idleConnections + 200);
            Path trafficCfg = work.resolve("traffic.cfg");
            Files.writeString(trafficCfg, ConfigGen.traffic(base, maxconn, o.nbthread, sinks, echos));
            log("config " + trafficCfg + " (ports " + base + "-" + (base + 3) + ", backends sink " + sinks + " echo "
                    + echos + ")");
            warmGenerator(gen);
            for (int rep = 1; rep <= o.reps; rep++) {
                if (o.groups.contains(Figure.Group.TRAFFIC)) {
                    for (TargetSpec t : o.targets) {
                        log("rep " + rep + "/" + o.reps + " traffic  " + t.label());
                        attempt(rep, "traffic", t, () -> traffic(gen, t, trafficCfg));
                    }
                }
                if (o.groups.contains(Figure.Group.IDLE)) {
                    for (TargetSpec t : o.targets) {
                        if (t.kind() != Target.DIRECT) {
                            log("rep " + rep + "/" + o.reps + " idle     " + t.label());
                            attempt(rep, "idle", t, () -> idle(gen, t, trafficCfg));
                        }
                    }
                }
                if (o.groups.contains(Figure.Group.STARTUP)) {
                    for (TargetSpec t : o.targets) {
                        if (t.kind() != Target.DIRECT) {
                            log("rep " + rep + "/" + o.reps + " start-up " + t.label());
                            attempt(rep, "start-up", t, () -> startupRetrying(t));
                        }
                    }
                }
            }
        } finally {
            backend.destroy();
            backend.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** One measurement. */
    private interface Step {
        void run() throws Exception;
    }

    /**
     * Runs one group of figures for one target; a failure (a port taken by another program, a proxy that died) is
     * noted in the results and leaves those cells short of a repetition instead of ending the whole run.
     */
    private void attempt(int rep, String what, TargetSpec t, Step step) {
        try {
            step.run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (Exception | AssertionError e) {
            String msg = String.valueOf(e.getMessage()).lines().limit(3).reduce((a, b) -> a + " / " + b).orElse("");
            note("rep " + rep + " " + what + " " + t.label() + " failed: " + e.getClass().getSimpleName() + ": " + msg);
        }
    }

    /** Another program may bind a port of the chosen range between the check and the proxy's bind: retry elsewhere. */
    private void startupRetrying(TargetSpec t) throws Exception {
        for (int i = 1; ; i++) {
            try {
                startup(t);
                return;
            } catch (IllegalStateException e) {
                if (i >= 3 || !String.valueOf(e.getMessage()).contains("in use")) {
                    throw e;
                }
                log("start-up range busy (" + e.getMessage().lines().skip(1).findFirst().orElse("").trim()
                        + "), retrying on a fresh range");
            }
        }
    }

    private Process startBackend() throws IOException {
        String cp = System.getProperty("java.class.path");
        List<String> cmd = new ArrayList<>();
        if (o.pin) {
            cmd.addAll(List.of("taskset", "-c", o.generatorCpus));
        }
        cmd.addAll(List.of(o.javaCmd, "-Xms128m", "-Xmx128m", "-XX:+UseParallelGC",
                "-Dio.netty.leakDetection.level=disabled", "-cp", cp, "dev.planetary.bench.BenchMain", "backend"));
        Process p = new ProcessBuilder(cmd).redirectError(work.resolve("backend.err").toFile()).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        if (line == null || !line.startsWith("READY ")) {
            p.destroyForcibly();
            throw new IllegalStateException("backend process did not start: " + line + "\n"
                    + Files.readString(work.resolve("backend.err")));
        }
        // READY sink=P,P echo=P,P
        String[] parts = line.split(" ");
        sinks = ports(parts[1].substring("sink=".length()));
        echos = ports(parts[2].substring("echo=".length()));
        return p;
    }

    private static List<Integer> ports(String csv) {
        List<Integer> out = new ArrayList<>();
        for (String s : csv.split(",")) {
            out.add(Integer.parseInt(s));
        }
        return out;
    }

    // ---- traffic: bulk 1 and 8, request/response, new connections, CPU per GB -----------------------------------

    private void traffic(LoadGen gen, TargetSpec t, Path cfg) throws Exception {
        TargetProcess proxy = null;
        try {
            List<Integer> bulkPorts = sinks;
            List<Integer> echoPorts = echos;
            if (t.kind() != Target.DIRECT) {
                proxy = TargetProcess.start(t, cfg, o, work);
                proxy.awaitAccepting(new int[]{base, base + 1, base + 2, base + 3}, System.nanoTime(), 60_000);
                bulkPorts = List.of(base);
                echoPorts = List.of(base + 1);
            }
            long warm = (long) (o.warmupSeconds * 1e9);
            long measure = (long) (o.measureSeconds * 1e9);
            if (o.loads.contains("cps")) {
                cpsCold(t, gen, measure);
            }
            warmTarget(t, bulkPorts, echoPorts, gen);

            if (o.loads.contains("bulk1")) {
                try (LoadGen.Load l = gen.bulk(LoadGen.loopback(bulkPorts), 1)) {
                    TimeUnit.NANOSECONDS.sleep(warm);
                    record(Figure.BULK1, t, check(t, "bulk1", l.measure(measure)).perSecond());
                }
            }
            if (o.loads.contains("bulk8")) {
                bulk8(t, proxy, bulkPorts, gen, warm, measure);
            }
            if (o.loads.contains("rr")) {
                rr(t, echoPorts, gen, warm, measure);
            }
            if (o.loads.contains("cps")) {
                cps(t, gen, warm, measure);
            }
        } finally {
            if (proxy != null) {
                proxy.close();
            }
        }
    }

    private void bulk8(TargetSpec t, TargetProcess proxy, List<Integer> bulkPorts, LoadGen gen, long warm, long measure)
            throws InterruptedException {
        try (LoadGen.Load l = gen.bulk(LoadGen.loopback(bulkPorts), 8)) {
            TimeUnit.NANOSECONDS.sleep(warm);
            double cpu0 = proxy == null ? 0 : ProcFs.cpuSeconds(proxy.pid());
            LoadGen.Window w = check(t, "bulk8", l.measure(measure));
            double cpu1 = proxy == null ? 0 : ProcFs.cpuSeconds(proxy.pid());
            record(Figure.BULK8, t, w.perSecond());
            if (proxy != null) {
                record(Figure.CPU_PER_GB, t, (cpu1 - cpu0) / (w.count() / 1e9));
            }
        }
    }

    private void rr(TargetSpec t, List<Integer> echoPorts, LoadGen gen, long warm, long measure)
            throws InterruptedException {
        try (LoadGen.Load l = gen.requestResponse(LoadGen.loopback(echoPorts), o.rrConnections, o.rrSize)) {
            TimeUnit.NANOSECONDS.sleep(warm);
            LoadGen.Window w = check(t, "rr", l.measure(measure));
            record(Figure.RR_OPS, t, w.perSecond());
            record(Figure.RR_P50, t, (double) w.latency().getValueAtPercentile(50));
            record(Figure.RR_P99, t, (double) w.latency().getValueAtPercentile(99));
            record(Figure.RR_P999, t, (double) w.latency().getValueAtPercentile(99.9));
        }
    }

    private void cps(TargetSpec t, LoadGen gen, long warm, long measure) throws InterruptedException {
        try (LoadGen.Load l = gen.newConnections(LoadGen.loopback(cpsPorts(t)), o.cpsConcurrency, o.cpsSize)) {
            TimeUnit.NANOSECONDS.sleep(warm);
            LoadGen.Window w = check(t, "cps", l.measure(measure));
            record(Figure.CPS, t, w.perSecond());
            record(Figure.CPS_P99, t, (double) w.latency().getValueAtPercentile(99));
            if (w.errorsSoFar() > 0) {
                note(t.label() + ": " + w.errorsSoFar() + " failed connections in the new-connections figure");
            }
        }
    }

    /**
     * New connections right after the target started (1 s after its ports accept), before any warm-up: what a
     * restart under load gives in its first seconds. A JVM proxy is still compiling then; HAProxy is not.
     */
    private void cpsCold(TargetSpec t, LoadGen gen, long measure) throws InterruptedException {
        try (LoadGen.Load l = gen.newConnections(LoadGen.loopback(cpsPorts(t)), o.cpsConcurrency, o.cpsSize)) {
            TimeUnit.SECONDS.sleep(1);
            record(Figure.CPS_COLD, t, check(t, "cps cold", l.measure(measure)).perSecond());
        }
    }

    /** Not recorded: the same mixed load on every target process, so that the figures after it are steady state. */
    private void warmTarget(TargetSpec t, List<Integer> bulkPorts, List<Integer> echoPorts, LoadGen gen)
            throws InterruptedException {
        mixedLoad(gen, bulkPorts, echoPorts, cpsPorts(t), (long) (o.proxyWarmupSeconds * 1e9 / 3));
    }

    /** Where the new-connections loads go: the echo backends directly, or the proxy's new-connections port. */
    private List<Integer> cpsPorts(TargetSpec t) {
        return t.kind() == Target.DIRECT ? echos : List.of(base + 2);
    }

    /** New connections, then request/response, then 8-connection bulk, {@code each} nanoseconds apiece. */
    private void mixedLoad(LoadGen gen, List<Integer> bulkPorts, List<Integer> echoPorts, List<Integer> cpsPorts,
            long each) throws InterruptedException {
        if (each <= 0) {
            return;
        }
        try (LoadGen.Load l = gen.newConnections(LoadGen.loopback(cpsPorts), o.cpsConcurrency, o.cpsSize)) {
            TimeUnit.NANOSECONDS.sleep(each);
        }
        try (LoadGen.Load l = gen.requestResponse(LoadGen.loopback(echoPorts), o.rrConnections, o.rrSize)) {
            TimeUnit.NANOSECONDS.sleep(each);
        }
        try (LoadGen.Load l = gen.bulk(LoadGen.loopback(bulkPorts), 8)) {
            TimeUnit.NANOSECONDS.sleep(each);
        }
    }

    /**
     * Not recorded: every load against the backends directly, so that the generator's and the backends' JIT is warm
     * before the first measured target (otherwise rep 1 of whichever target goes first pays for it).
     */
    private void warmGenerator(LoadGen gen) throws Exception {
        long each = (long) (Math.max(0.5, 2 * o.warmupSeconds) * 1e9);
        log("warming the generator and backends (" + each / 1_000_000 + " ms per load, not recorded)");
        mixedLoad(gen, sinks, echos, echos, each);
    }

    private LoadGen.Window check(TargetSpec t, String what, LoadGen.Window w) {
        if (w.count() == 0) {
            throw new IllegalStateException(t.label() + " " + what + ": nothing got through in the measured window");
        }
        return w;
    }

    // ---- memory: RSS per idle proxied connection ----------------------------------------------------------------

    private void idle(LoadGen gen, TargetSpec t, Path cfg) throws Exception {
        try (TargetProcess proxy = TargetProcess.start(t, cfg, o, work)) {
            int port = base + 3;
            proxy.awaitAccepting(new int[]{port}, System.nanoTime(), 60_000);
            java.net.InetSocketAddress addr = new java.net.InetSocketAddress("127.0.0.1", port);
            // warm the accept/connect/relay paths first, so the baseline holds the code, not just the process
            try (LoadGen.Load warm = gen.idle(addr, 200, 16, 100, TimeUnit.SECONDS.toNanos(30))) {
                TimeUnit.MILLISECONDS.sleep(100);
            }
            TimeUnit.MILLISECONDS.sleep(500);
            long rss0 = ProcFs.rssBytes(proxy.pid());
            int n = o.idleConnections;
            try (LoadGen.Load l = gen.idle(addr, n, 16, 200, TimeUnit.SECONDS.toNanos(120))) {
                long ok = l.done.sum();
                TimeUnit.MILLISECONDS.sleep(1000);
                long rss1 = ProcFs.rssBytes(proxy.pid());
                if (ok < n) {
                    note(t.label() + ": only " + ok + " of " + n + " idle connections were established ("
                            + l.errors.sum() + " failed)");
                }
                if (ok > 0) {
                    record(Figure.RSS_PER_CONN, t, (double) (rss1 - rss0) / ok);
                }
                if (o.idleHoldSeconds > 0) {
                    log("holding " + ok + " idle connections to " + t.label() + " (pid " + proxy.pid() + ") for "
                            + o.idleHoldSeconds + " s");
                    TimeUnit.SECONDS.sleep(o.idleHoldSeconds);
                }
            }
        }
    }

    // ---- start-up: launch until every port of a large range accepts -----------------------------------------------

    private void startup(TargetSpec t) throws Exception {
        int low = Ports.freeRange(o.startupLow, o.startupHigh, o.startupPorts);
        Path cfg = work.resolve("startup-" + low + "-" + o.startupPorts + ".cfg");
        if (!Files.exists(cfg)) {
            Files.writeString(cfg, ConfigGen.startup(low, o.startupPorts, o.nbthread, echos));
        }
        int[] ports = new int[o.startupPorts];
        for (int i = 0; i < ports.length; i++) {
            ports[i] = low + i;
        }
        long t0 = System.nanoTime();
        try (TargetProcess proxy = TargetProcess.start(t, cfg, o, work)) {
            long nanos = proxy.awaitAccepting(ports, t0, 120_000);
            record(Figure.STARTUP, t, (double) nanos);
        }
        TimeUnit.MILLISECONDS.sleep(300); // let the listeners go away before the next target binds the same range
    }

    // ---- bookkeeping ---------------------------------------------------------------------------------------------

    private void record(Figure f, TargetSpec t, double raw) {
        results.get(f).get(t.label()).add(raw);
        log(String.format("  %-40s %-12s %,.1f %s", f.label.trim(), t.label(), raw * f.scale, f.unit));
    }

    private void note(String s) {
        notes.add(s);
        log("NOTE " + s);
    }

    private static void log(String s) {
        System.out.println("[bench] " + s);
        System.out.flush();
    }

    private static void exec(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(cmd + " failed: " + out);
        }
    }
}
