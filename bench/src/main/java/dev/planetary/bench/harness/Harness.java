package dev.planetary.bench.harness;

import dev.planetary.bench.net.LoadGen;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The load harness: direct, haproxy and planetary measured in one run, alternating targets (A B C A B C ...) so
 * that machine drift falls on all of them alike. Every figure is measured {@code --reps} times per target and
 * reported as median [min-max], once per {@link Pass} (nbthread, pinned or not).
 *
 * <p>Processes, per pass: the traffic loads are C tools ({@link LoadTools}: Debian's wrk against HTTP responders,
 * the harness's own planetary-load into its sink); the idle connections come from this process ({@link LoadGen}, Netty epoll) and go
 * to echo servers in a backend JVM of their own ({@code backend}); each proxy runs in its own process, started
 * fresh for each group of figures. Everything the run writes goes to one temporary directory, deleted at the end.
 */
public final class Harness {

    private final Options o;
    private final Path work;
    private final LoadTools tools;
    private final Results results;
    private final List<String> notes = new ArrayList<>();
    private Pass pass;
    private List<Integer> echos;
    private int base;
    /** The pass's syslog line counter ({@code --syslog-sink}), or null. */
    private SyslogCounter syslog;

    private Harness(Options o, Path work, List<Pass> passes) throws IOException {
        this.o = o;
        this.work = work;
        this.tools = new LoadTools(o, work);
        this.results = new Results(passes, o.targets);
    }

    public static int run(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            System.err.println(e instanceof IndexOutOfBoundsException ? "an option is missing its value\n"
                    + Options.USAGE : e.getMessage());
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
        if (o.groups.contains(Figure.Group.TRAFFIC)) {
            if (!Files.isExecutable(Path.of(o.wrk))) {
                System.err.println(o.wrk + " not found (apt-get install wrk)");
                return 1;
            }
            if (!Files.isExecutable(Path.of(o.cc))) {
                System.err.println(o.cc + " not found: the harness builds its load tool with it (apt-get install gcc)");
                return 1;
            }
        }
        List<Pass> passes = Pass.of(o);
        Path work = Files.createTempDirectory("planetary-bench");
        // Stopped by a signal (Ctrl-C, kill), the finally blocks below never run: stop what this run started
        // (proxies, responders, sink, load tools) and remove its directory anyway.
        Thread cleanup = new Thread(() -> stopDescendantsAndDelete(work), "bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        try {
            Harness h = new Harness(o, work, passes);
            for (Pass p : passes) {
                h.execute(p);
            }
            String table = Report.table(o, h.results);
            System.out.println();
            System.out.println(table);
            Report.write(o, h.results, h.notes, table);
            System.out.println("results written to " + o.out.toAbsolutePath());
            return 0;
        } finally {
            deleteTree(work);
        }
    }

    /** One pass: backends and load tools placed as the pass says, then every repetition of every group. */
    private void execute(Pass p) throws Exception {
        pass = p;
        log("pass: " + p.describe());
        // the generator (this JVM, all its threads) on the generator CPUs; the proxies get the others
        exec(List.of("taskset", "-a", "-p", "-c", p.generatorCpus(), Long.toString(ProcessHandle.current().pid())));
        Process backend = startBackend();
        syslog = null;
        Process responder = null;
        Process sink = null;
        try (SyslogCounter s = o.syslogSink > 0 ? SyslogCounter.start(o.syslogSink) : null;
             LoadGen gen = new LoadGen(p.generatorThreads(), o.sources)) {
            syslog = s;
            if (s != null) {
                log("syslog sink on UDP 127.0.0.1:" + s.port() + ", receive buffer " + s.receiveBuffer() + " bytes");
                if (s.bufferNote() != null) {
                    note(s.bufferNote());
                }
            }
            // base..base+3: the proxies' bulk, rr, cps and idle ports; base+4, base+5: HTTP responders; base+6 sink
            base = Ports.freeRange(o.portLow, o.portHigh, 7);
            List<Integer> http = List.of(base + 4, base + 5);
            int sinkPort = base + 6;
            if (o.groups.contains(Figure.Group.TRAFFIC)) {
                responder = tools.responder(p, http);
                sink = tools.sink(p, sinkPort);
            }
            int maxconn = Math.min(9_400, o.idleConnections + 200);
            Path trafficCfg = work.resolve("traffic-" + p.nbthread() + ".cfg");
            Files.writeString(trafficCfg, ConfigGen.harness(base, maxconn, p.nbthread(), sinkPort, http, echos));
            log("config " + trafficCfg + " (proxy ports " + base + "-" + (base + 3) + "; sink " + sinkPort
                    + ", HTTP responders " + http + ", echo " + echos + ")");
            Ends ends = new Ends(List.of(sinkPort), http, http);
            for (int rep = 1; rep <= o.reps; rep++) {
                String r = "rep " + rep + "/" + o.reps + " t" + p.nbthread() + " ";
                List<TargetSpec> order = rotated(o.targets, rep - 1);
                if (o.groups.contains(Figure.Group.TRAFFIC)) {
                    for (TargetSpec t : order) {
                        log(r + "traffic  " + t.label());
                        attempt(rep, "traffic", t, () -> traffic(t, trafficCfg, ends));
                    }
                }
                if (o.groups.contains(Figure.Group.IDLE)) {
                    for (TargetSpec t : order) {
                        if (t.kind() != Target.DIRECT) {
                            log(r + "idle     " + t.label());
                            attempt(rep, "idle", t, () -> idle(gen, t, trafficCfg));
                        }
                    }
                }
                if (o.groups.contains(Figure.Group.STARTUP)) {
                    for (TargetSpec t : order) {
                        if (t.kind() != Target.DIRECT) {
                            log(r + "start-up " + t.label());
                            attempt(rep, "start-up", t, () -> startupRetrying(t));
                        }
                    }
                }
            }
        } finally {
            for (Process q : Stream.of(sink, responder, backend).filter(x -> x != null).toList()) {
                q.destroy();
                if (!q.waitFor(10, TimeUnit.SECONDS)) {
                    q.destroyForcibly();
                    q.waitFor(5, TimeUnit.SECONDS);
                }
            }
        }
    }

    /**
     * The targets in the order of repetition {@code shift} (0-based): each repetition starts one target later, so no
     * column always runs first (right after the backends start) or right after the same neighbour, whose heat, page
     * cache and TIME_WAIT sockets it would inherit every time (the same jar moved 3 points between two runs with a
     * fixed order).
     */
    static <T> List<T> rotated(List<T> targets, int shift) {
        if (targets.isEmpty()) {
            return targets;
        }
        int k = Math.floorMod(shift, targets.size());
        List<T> out = new java.util.ArrayList<>(targets.subList(k, targets.size()));
        out.addAll(targets.subList(0, k));
        return out;
    }

    /** Where a target's traffic goes when it is direct: the bulk sink, the rr and the cps HTTP responders. */
    private record Ends(List<Integer> bulk, List<Integer> rr, List<Integer> cps) {
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
            note("t" + pass.nbthread() + " rep " + rep + " " + what + " " + t.label() + " failed: "
                    + e.getClass().getSimpleName() + ": " + msg);
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

    private List<String> placed() {
        List<String> cmd = new ArrayList<>();
        if (pass.pinned()) {
            cmd.addAll(List.of("taskset", "-c", pass.generatorCpus()));
        }
        return cmd;
    }

    private Process startBackend() throws IOException {
        String cp = System.getProperty("java.class.path");
        List<String> cmd = placed();
        // no hsperfdata file: the harness stops this JVM with a signal, and nothing of a run may stay in /tmp
        cmd.addAll(List.of(o.javaCmd, "-Xms128m", "-Xmx128m", "-XX:+UseParallelGC", "-XX:-UsePerfData",
                "-Dio.netty.leakDetection.level=disabled", "-Djava.io.tmpdir=" + work, "-cp", cp,
                "dev.planetary.bench.BenchMain", "backend", "--threads", Integer.toString(pass.generatorThreads())));
        Path err = work.resolve("backend-" + pass.nbthread() + ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        if (line == null || !line.startsWith("READY ")) {
            p.destroyForcibly();
            throw new IllegalStateException("backend process did not start: " + line + "\n" + Files.readString(err));
        }
        // READY sink=P,P echo=P,P
        String[] parts = line.split(" ");
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

    private void traffic(TargetSpec t, Path cfg, Ends direct) throws Exception {
        TargetProcess proxy = null;
        try {
            if (t.kind() != Target.DIRECT) {
                proxy = TargetProcess.start(t, cfg, o, work, pass.proxyCpus());
                proxy.awaitAccepting(new int[]{base, base + 1, base + 2, base + 3}, System.nanoTime(), 60_000);
            }
            Ends ends = proxy == null ? direct : new Ends(List.of(base), List.of(base + 1), List.of(base + 2));
            int warm = LoadTools.seconds(o.warmupSeconds);
            int measure = Math.max(1, LoadTools.seconds(o.measureSeconds));
            if (o.loads.contains("cps")) {
                // new connections right after the target started (1 s after its ports accept), before any warm-up:
                // what a restart under load gives in its first seconds (a JVM proxy is still compiling then)
                TimeUnit.SECONDS.sleep(1);
                Window w = window(t, proxy, () -> tools.wrk(pass, ends.cps().get(0), o.cpsConcurrency, true, measure));
                recordRate(Figure.CPS_COLD, t, check(t, "cps cold", w));
            }
            if (proxy != null) {
                mixedLoad(ends, LoadTools.seconds(o.proxyWarmupSeconds / 3)); // the C tools have no JIT to warm
            }

            if (o.loads.contains("bulk1")) {
                warm(() -> tools.bulk(pass, ends.bulk().get(0), 1, warm), warm);
                Window w = window(t, proxy, () -> tools.bulk(pass, ends.bulk().get(0), 1, measure));
                recordRate(Figure.BULK1, t, check(t, "bulk1", w));
            }
            if (o.loads.contains("bulk8")) {
                warm(() -> tools.bulk(pass, ends.bulk().get(0), 8, warm), warm);
                Window w = check(t, "bulk8", window(t, proxy, () -> tools.bulk(pass, ends.bulk().get(0), 8, measure)));
                recordRate(Figure.BULK8, t, w);
                if (proxy != null) {
                    record(Figure.CPU_PER_GB, t, w.proxyCpuSeconds / (w.r.count() / 1e9));
                }
            }
            if (o.loads.contains("rr")) {
                warm(() -> tools.wrk(pass, ends.rr().get(0), o.rrConnections, false, warm), warm);
                Window w = check(t, "rr", window(t, proxy,
                        () -> tools.wrk(pass, ends.rr().get(0), o.rrConnections, false, measure)));
                recordRate(Figure.RR_OPS, t, w);
                record(Figure.RR_P50, t, w.r.p50());
                record(Figure.RR_P99, t, w.r.p99());
                record(Figure.RR_P999, t, w.r.p999());
                errors(t, "request/response", w);
            }
            if (o.loads.contains("cps")) {
                warm(() -> tools.wrk(pass, ends.cps().get(0), o.cpsConcurrency, true, warm), warm);
                Window w = check(t, "cps", window(t, proxy,
                        () -> tools.wrk(pass, ends.cps().get(0), o.cpsConcurrency, true, measure)));
                recordRate(Figure.CPS, t, w);
                record(Figure.CPS_P99, t, w.r.p99());
                if (syslog != null && proxy != null) {
                    if (w.r.count() > 0) {
                        // the lines count connections wrk opened but had not completed at the window's end too:
                        // the figure can sit slightly above 1
                        record(Figure.CPS_LOG_LINES, t, (double) w.logLines / w.r.count());
                    } else {
                        note("t" + pass.nbthread() + " " + t.label()
                            + ": no connection completed: no log-lines figure");
                    }
                }
                errors(t, "new-connections", w);
            }
        } finally {
            if (proxy != null) {
                proxy.close();
            }
        }
    }

    /** A load tool's run. */
    private interface Run {
        LoadTools.Result run() throws Exception;
    }

    /** One measured run with the CPU it cost: the proxy process's CPU seconds and each CPU's busy fraction. */
    private record Window(LoadTools.Result r, double proxyCpuSeconds, double[] cpuBusy, long logLines) {
    }

    private Window window(TargetSpec t, TargetProcess proxy, Run run) throws Exception {
        long l0 = syslog == null ? 0 : syslog.lines();
        List<long[]> c0 = ProcFs.cpuTicks();
        double p0 = proxy == null ? 0 : ProcFs.cpuSeconds(proxy.pid());
        LoadTools.Result r = run.run();
        double p1 = proxy == null ? 0 : ProcFs.cpuSeconds(proxy.pid());
        List<long[]> c1 = ProcFs.cpuTicks();
        double[] busy = new double[Math.min(c0.size(), c1.size())];
        for (int i = 0; i < busy.length; i++) {
            long total = c1.get(i)[1] - c0.get(i)[1];
            busy[i] = total <= 0 ? 0 : (double) (c1.get(i)[0] - c0.get(i)[0]) / total;
        }
        // lines of the window's last connections may still be on their way: a short wait, bounded
        long l1 = syslog == null ? 0 : settledLines(syslog);
        return new Window(r, p1 - p0, busy, l1 - l0);
    }

    /** The counter once it has stopped growing for 200 ms (the proxies' log threads flush within that), at most 2 s. */
    private static long settledLines(SyslogCounter c) throws InterruptedException {
        long last = c.lines();
        for (int i = 0; i < 10; i++) {
            TimeUnit.MILLISECONDS.sleep(200);
            long now = c.lines();
            if (now == last) {
                break;
            }
            last = now;
        }
        return last;
    }

    private static void warm(Run run, int seconds) throws Exception {
        if (seconds > 0) {
            run.run();
        }
    }

    /**
     * Not recorded: new connections, request/response and 8-connection bulk, {@code each} seconds apiece, on every
     * new target process, so that the figures after it are steady state (a JVM compiles its connection path then).
     */
    private void mixedLoad(Ends ends, int each) throws Exception {
        if (each <= 0) {
            return;
        }
        tools.wrk(pass, ends.cps().get(0), o.cpsConcurrency, true, each);
        tools.wrk(pass, ends.rr().get(0), o.rrConnections, false, each);
        tools.bulk(pass, ends.bulk().get(0), 8, each);
    }

    private Window check(TargetSpec t, String what, Window w) {
        if (w.r.count() == 0) {
            throw new IllegalStateException(t.label() + " " + what + ": nothing got through in the measured window");
        }
        return w;
    }

    private void errors(TargetSpec t, String what, Window w) {
        if (w.r.errors() > 0) {
            note("t" + pass.nbthread() + " " + t.label() + ": " + w.r.errors() + " errors in the " + what
                    + " figure (wrk: connect, read, write, status or timeout)");
        }
    }

    // ---- memory: RSS per idle proxied connection ----------------------------------------------------------------

    /** Connections opened and closed at a time by {@link #churn}: what a proxy keeps for reuse covers no more. */
    private static final int CHURN_ROUND = 200;

    /** Connections {@link #churn} opens and closes: about 50 MB of a JVM's heap, three young generations. */
    static int idleChurn(Options o) {
        return o.smoke ? CHURN_ROUND : 10_000;
    }

    /** Opens and closes {@code total} connections that each exchange 16 bytes, {@link #CHURN_ROUND} at a time. */
    private static void churn(LoadGen gen, java.net.InetSocketAddress addr, int total) throws Exception {
        for (int done = 0; done < total; done += CHURN_ROUND) {
            int count = Math.min(CHURN_ROUND, total - done);
            try (LoadGen.Load round = gen.idle(addr, count, 16, 100, TimeUnit.SECONDS.toNanos(30))) {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2); // the last ones' echoes
                while (round.done.sum() + round.errors.sum() < count && System.nanoTime() - end < 0) {
                    TimeUnit.MILLISECONDS.sleep(1);
                }
            }
        }
    }

    private void idle(LoadGen gen, TargetSpec t, Path cfg) throws Exception {
        try (TargetProcess proxy = TargetProcess.start(t, cfg, o, work, pass.proxyCpus())) {
            int port = base + 3;
            proxy.awaitAccepting(new int[]{port}, System.nanoTime(), 60_000);
            java.net.InetSocketAddress addr = new java.net.InetSocketAddress("127.0.0.1", port);
            // Both RSS readings are of a proxy in a steady state, as one that keeps serving is. Before the baseline,
            // traffic compiles the connection path and touches the memory a process keeps whatever its load (a JVM's
            // young generation; the compiler's arenas); after the idle connections are up, more traffic moves what
            // each of them keeps to where it stays (a JVM: from the resident young generation into old-generation
            // pages). Without both, the figure swung between 4.1 and 5.5 KB by run, with the same flags (the
            // young generation resident at the baseline or not; bench/RESULTS.md, issue 15).
            churn(gen, addr, idleChurn(o));
            TimeUnit.MILLISECONDS.sleep(500);
            long rss0 = ProcFs.rssBytes(proxy.pid());
            int n = o.idleConnections;
            try (LoadGen.Load l = gen.idle(addr, n, 16, 200, TimeUnit.SECONDS.toNanos(120))) {
                long ok = l.done.sum();
                churn(gen, addr, idleChurn(o));
                TimeUnit.MILLISECONDS.sleep(1000);
                long rss1 = ProcFs.rssBytes(proxy.pid());
                if (ok < n) {
                    note("t" + pass.nbthread() + " " + t.label() + ": only " + ok + " of " + n
                            + " idle connections were established (" + l.errors.sum() + " failed)");
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
        Path cfg = work.resolve("startup-" + low + "-" + o.startupPorts + "-t" + pass.nbthread() + ".cfg");
        if (!Files.exists(cfg)) {
            Files.writeString(cfg, ConfigGen.startup(low, o.startupPorts, pass.nbthread(), echos));
        }
        int[] ports = new int[o.startupPorts];
        for (int i = 0; i < ports.length; i++) {
            ports[i] = low + i;
        }
        long t0 = System.nanoTime();
        try (TargetProcess proxy = TargetProcess.start(t, cfg, o, work, pass.proxyCpus())) {
            long nanos = proxy.awaitAccepting(ports, t0, 120_000);
            record(Figure.STARTUP, t, (double) nanos);
        }
        TimeUnit.MILLISECONDS.sleep(300); // let the listeners go away before the next target binds the same range
    }

    // ---- bookkeeping ---------------------------------------------------------------------------------------------

    private void record(Figure f, TargetSpec t, double raw) {
        results.add(pass, f, t.label(), raw);
        log(String.format("  %-40s %-12s %,.1f %s", f.label.trim(), t.label(), raw * f.scale, f.unit));
    }

    /** A rate figure, with the CPU its window cost (for the table of what bounds each figure). */
    private void recordRate(Figure f, TargetSpec t, Window w) {
        record(f, t, w.r.perSecond());
        boolean direct = t.kind() == Target.DIRECT;
        double proxyBusy = direct ? Double.NaN : w.proxyCpuSeconds / (w.r.nanos() / 1e9) / pass.nbthread();
        boolean perOp = !direct && (f == Figure.RR_OPS || f == Figure.CPS || f == Figure.CPS_COLD);
        double micros = perOp ? w.proxyCpuSeconds * 1e6 / w.r.count() : Double.NaN;
        results.addCpu(pass, f, t.label(), new Results.Cpu(proxyBusy, micros, w.cpuBusy));
        if (perOp && f != Figure.CPS_COLD) {
            record(f == Figure.RR_OPS ? Figure.RR_CPU : Figure.CPS_CPU, t, micros);
        }
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

    /**
     * Shutdown hook: SIGTERM to every process this JVM started (and theirs), 5 s to exit, then SIGKILL; again while
     * any is left, because the run's own thread goes on during shutdown and may start one more (a proxy) meanwhile.
     */
    private static void stopDescendantsAndDelete(Path work) {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        List<ProcessHandle> started = ProcessHandle.current().descendants().toList();
        while (!started.isEmpty() && System.nanoTime() - end < 0) {
            started.forEach(ProcessHandle::destroy);
            long killAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            for (ProcessHandle p : started) {
                while (p.isAlive() && System.nanoTime() - killAt < 0) {
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
                if (p.isAlive()) {
                    p.destroyForcibly();
                }
            }
            started = ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList();
        }
        try {
            deleteTree(work);
        } catch (UncheckedIOException e) {
            System.err.println(e.getMessage());
        }
    }

    /** Removes the run's temporary directory and everything in it. */
    public static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the run's temporary directory " + dir, e);
        }
    }
}
