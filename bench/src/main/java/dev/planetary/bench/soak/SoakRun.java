package dev.planetary.bench.soak;

import dev.planetary.bench.harness.Ports;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

/**
 * One soak run: Genesis and the proxy as child processes (the jars, with the launcher's JVM flags), a churning swarm
 * and flapping static servers in this process, the mixed load through the proxy, a sample every interval, and the
 * verdict. Everything started here is stopped by its own handle, and the temporary directory is removed.
 */
final class SoakRun {

    // ---- Genesis' timing: short, so that a 2-minute run sees many leaves and expiries ----
    static final String HEARTBEAT = "1s";
    /** Five missed heartbeats: a loaded machine delays one by a second or two, never by five. */
    static final Duration TTL = Duration.ofSeconds(5);
    static final Duration DRAIN = Duration.ofSeconds(2);
    static final String GRACE = "5s";

    // ---- growth tolerances: how far the fitted line may rise after the warm-up (see Growth) ----
    /**
     * Descriptors: the open connections swing by design (new connections in flight at 20/s, a dead VM's connections
     * reopened elsewhere, health-check sockets every 500 ms per server): a few dozen either way. A descriptor leaked
     * per new connection would add 1,200 a minute, one per swarm reconnect or per health check hundreds: 64 catches
     * either within the 2-minute CI run.
     */
    static final double FD_TOLERANCE = 64;
    /**
     * Resident memory of the proxy, with its heap pre-touched (see {@link #proxyCommand}), so what can still grow is
     * native: direct buffers, code cache (the JIT still compiles after the warm-up), malloc arenas, thread stacks.
     * 32 MiB is above what those settle at in our runs and far below what a leak of one buffer or one small native
     * allocation per connection adds over the 20 connections a second (tens of MiB a minute).
     */
    static final double RSS_TOLERANCE_KB = 32 * 1024;
    /** Netty's pooled direct memory grows in chunks of a few MiB and gives them back; 16 MiB is two to four chunks. */
    static final double DIRECT_TOLERANCE_KB = 16 * 1024;
    /** Genesis (heap pre-touched too): its state is a handful of VMs; its memory must not follow the churn. */
    static final double GENESIS_RSS_TOLERANCE_KB = 32 * 1024;
    /** Genesis' descriptors: agents' requests in flight and the proxy's watch; a leak per request adds thousands. */
    static final double GENESIS_FD_TOLERANCE = 32;

    /** The first 20% of a run (at least 30 s, at most 5 min) is warm-up: the JIT compiles, pools fill. */
    static double warmupSeconds(double runSeconds) {
        return Math.min(300, Math.max(30, runSeconds / 5));
    }

    private static final int STATIC_SERVERS = 3;
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2)).build();

    private final SoakOptions o;
    private final PrintStream log;
    private final List<Sample> samples = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();
    private final Casualties casualties = new Casualties();
    private volatile int liveVms;
    private volatile boolean controlStop;
    private int flaps;
    private int completedFlaps;

    SoakRun(SoakOptions o, PrintStream log) {
        this.o = o;
        this.log = log;
    }

    /** Runs the soak; 0 passed, 1 failed, 2 could not start. */
    int run() throws IOException, InterruptedException {
        for (Path jar : List.of(o.proxyJar, o.registryJar)) {
            if (!Files.isRegularFile(jar)) {
                log.println("planetary soak: no jar at " + jar.toAbsolutePath() + " (build with mvn -B -DskipTests "
                    + "package, or run bin/planetary soak)");
                return 2;
            }
        }
        Path dir = Files.createTempDirectory("planetary-soak");
        Process genesis = null;
        Process proxy = null;
        EventLoopGroup group = null;
        Uplink uplink = null;
        Swarm swarm = null;
        List<EchoServer> statics = new ArrayList<>();
        Loads loads = null;
        Thread control = null;
        boolean passed = false;
        Instant started = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        try {
            String token = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
            int genesisPort = freePort();
            genesis = start(genesisCommand(dir, genesisPort), dir.resolve("genesis.log"), token);
            URI api = URI.create("http://127.0.0.1:" + genesisPort);
            if (!awaitHealthy(genesis, api, dir.resolve("genesis.log"))) {
                return 2;
            }
            group = new MultiThreadIoEventLoopGroup(2, new DefaultThreadFactory("soak-servers", true),
                EpollIoHandler.newFactory());
            uplink = new Uplink(group, new InetSocketAddress("127.0.0.1", genesisPort));
            for (int i = 1; i <= STATIC_SERVERS; i++) {
                statics.add(EchoServer.start("static-" + i, "127.0.9." + i, 0, group));
            }
            int front = Ports.freeRange(25_000, 29_999, 2);
            int[] ports = {front, front + 1};
            Path cfg = dir.resolve("soak.cfg");
            Files.writeString(cfg, config(api, ports, statics));
            Path proxyLog = dir.resolve("proxy.log");
            proxy = start(proxyCommand(cfg), proxyLog, null);
            if (!awaitAccepting(proxy, ports, proxyLog)) {
                return 2;
            }
            swarm = new Swarm(o, group, uplink, api, token, casualties, TTL, DRAIN);
            swarm.populate();
            liveVms = swarm.size();
            if (!awaitSwarm(swarm, ports[0])) {
                return 2;
            }
            log.printf(Locale.ROOT, "planetary soak: proxy pid %d, Genesis pid %d, %d VMs, load for %.1f min; a "
                + "sample every %.0f s%n", proxy.pid(), genesis.pid(), swarm.size(), o.minutes, o.sampleSeconds);

            loads = new Loads(o, ports, casualties);
            loads.start();
            long t0 = System.nanoTime();
            Swarm sw = swarm;
            control = new Thread(() -> control(sw, statics, t0), "soak-control");
            control.setDaemon(true);
            control.start();
            sampleUntil(t0, proxy, genesis, loads, proxyLog, dir);

            controlStop = true;
            control.join(60_000);
            loads.stop();
            passed = verdict(loads, swarm, proxyLog, dir.resolve("genesis.log"), started);
            return passed ? 0 : 1;
        } finally {
            controlStop = true;
            if (swarm != null) {
                swarm.close();
            }
            statics.forEach(EchoServer::close);
            if (uplink != null) {
                uplink.close();
            }
            int proxyExit = stop(proxy);
            stop(genesis);
            if (group != null) {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10_000);
            }
            if (proxy != null && proxyExit != 0) {
                log.println("planetary soak: the proxy exited " + proxyExit + " after SIGTERM (expected 0)");
            }
            if (!passed) {
                keepLogs(dir);
            }
            deleteTree(dir);
        }
    }

    // ---- processes ----

    private List<String> genesisCommand(Path dir, int port) {
        List<String> cmd = new ArrayList<>();
        cmd.add(o.java);
        cmd.addAll(split(o.registryOpts));
        // heap pages resident from the start: RSS growth is then the registry's, not the heap being touched; native
        // memory tracking so that a rise can be traced by hand (jcmd PID VM.native_memory summary) during a long run
        cmd.add("-XX:+AlwaysPreTouch");
        cmd.add("-XX:NativeMemoryTracking=summary");
        cmd.addAll(List.of("-jar", o.registryJar.toString(), "--listen", "127.0.0.1:" + port,
            "--data-dir", dir.resolve("genesis-data").toString(), "--heartbeat-interval", HEARTBEAT,
            "--ttl", TTL.toSeconds() + "s", "--drain-period", DRAIN.toSeconds() + "s", "--grace", GRACE,
            // numbers only: the soak's proxy pins no ports; 63 VMs fit, the churn keeps at most vms + 2 (+ grace)
            "--port-plan", "pcpu=40000-40063,pfsshfs=40100-40163,transfer=40200-40263"));
        return cmd;
    }

    /**
     * The proxy as the launcher runs it, plus three flags for measuring: native memory tracking (direct memory),
     * a pre-touched heap (with {@code -Xms} = {@code -Xmx} the heap is committed at start but only becomes resident as
     * it is first written, which for a 240 MB old generation filled by slow promotion takes the whole run and would
     * look exactly like a leak), and Netty's SIMPLE leak detection (samples 1% of buffers; a LEAK line fails the soak).
     */
    private List<String> proxyCommand(Path cfg) {
        List<String> cmd = new ArrayList<>();
        cmd.add(o.java);
        cmd.addAll(split(o.proxyOpts));
        cmd.addAll(List.of("-XX:NativeMemoryTracking=summary", "-XX:+AlwaysPreTouch",
            "-Dio.netty.leakDetection.level=simple", "-jar", o.proxyJar.toString(), "-f", cfg.toString()));
        return cmd;
    }

    private static List<String> split(String opts) {
        List<String> out = new ArrayList<>();
        for (String s : opts.trim().split("\\s+")) {
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return out;
    }

    private static Process start(List<String> cmd, Path logFile, String token) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logFile.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().putIfAbsent("_JAVA_SR_SIGNUM", "39"); // as bin/planetary: SIGUSR2 must not crash it
        if (token != null) {
            pb.environment().put("GENESIS_TOKEN", token);
        }
        return pb.start();
    }

    /** SIGTERM, up to 20 s, then SIGKILL; only this process, by its handle. The exit code, or -1. */
    private static int stop(Process p) throws InterruptedException {
        if (p == null) {
            return -1;
        }
        p.destroy();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            return -1;
        }
        return p.exitValue();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }

    private boolean awaitHealthy(Process genesis, URI api, Path logFile) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() - deadline < 0) {
            if (!genesis.isAlive()) {
                log.println("planetary soak: Genesis exited " + genesis.exitValue() + ":\n" + read(logFile));
                return false;
            }
            try {
                HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(api.resolve("/api/health"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return true;
                }
            } catch (IOException e) {
                // not up yet
            }
            Thread.sleep(100);
        }
        log.println("planetary soak: Genesis did not answer within 60 s:\n" + read(logFile));
        return false;
    }

    private boolean awaitAccepting(Process proxy, int[] ports, Path logFile) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (int port : ports) {
            while (!Ports.accepts(port)) {
                if (!proxy.isAlive()) {
                    log.println("planetary soak: the proxy exited " + proxy.exitValue() + ":\n" + read(logFile));
                    return false;
                }
                if (System.nanoTime() - deadline > 0) {
                    log.println("planetary soak: the proxy does not accept on " + port + " after 60 s:\n"
                        + read(logFile));
                    return false;
                }
                Thread.sleep(50);
            }
        }
        return true;
    }

    /** Every VM registered and the proxy routing to the swarm. */
    private boolean awaitSwarm(Swarm swarm, int port) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() - deadline < 0) {
            if (swarm.allRegistered()) {
                try (Conn c = Conn.open(port)) {
                    if (c.server().startsWith("soak-vm-")) {
                        return true;
                    }
                } catch (IOException e) {
                    // no server yet
                }
            }
            Thread.sleep(200);
        }
        log.println("planetary soak: the swarm did not become routable within 60 s");
        return false;
    }

    private String config(URI genesis, int[] ports, List<EchoServer> statics) {
        StringBuilder servers = new StringBuilder();
        for (EchoServer s : statics) {
            servers.append("    server ").append(s.name()).append(' ').append(s.ip()).append(':').append(s.port())
                .append('\n');
        }
        return """
            # written by planetary soak: the swarm's shape (servers from Genesis, checked) and a static backend
            global
                maxconn 4000
                nbthread 2
                hard-stop-after 5s
            defaults
                mode tcp
                timeout connect 2s
                # idle connections are held for the whole run
                timeout client 24h
                timeout server 24h
                timeout client-fin 30s
                timeout server-fin 30s
                timeout queue 5s
                retries 3
                option redispatch
            genesis soak
                url %s
            listen swarm
                bind 127.0.0.1:%d
                balance leastconn
                default-server check inter 1s fall 2 rise 2
                discover genesis soak service echo
            listen static
                bind 127.0.0.1:%d
                balance roundrobin
                default-server check inter 500ms fall 2 rise 2
            %s""".formatted(genesis, ports[0], ports[1], servers);
    }

    // ---- the control thread: churn, health-check flaps, the corruption hook ----

    private void control(Swarm swarm, List<EchoServer> statics, long t0) {
        long churnPeriod = (long) (o.churnSeconds * 1e9);
        long flapPeriod = (long) (o.flapSeconds * 1e9);
        long flapDown = (long) (o.flapDownSeconds * 1e9);
        long nextChurn = t0 + churnPeriod;
        long nextFlap = t0 + flapPeriod;
        long nextTick = t0;
        EchoServer down = null;
        long upAt = 0;
        boolean corrupted = false;
        while (!controlStop) {
            long now = System.nanoTime();
            try {
                if (now - nextChurn >= 0) {
                    swarm.churn();
                    liveVms = swarm.size();
                    nextChurn += churnPeriod;
                }
                if (now - nextTick >= 0) {
                    swarm.tick();
                    nextTick = now + TimeUnit.SECONDS.toNanos(1);
                }
                if (down == null && now - nextFlap >= 0) {
                    down = statics.get(flaps++ % statics.size());
                    casualties.listenerClosing();
                    down.closeListener();
                    upAt = now + flapDown;
                    nextFlap += flapPeriod;
                } else if (down != null && now - upAt >= 0) {
                    down.openListener();
                    down = null;
                    completedFlaps++;
                }
                if (!corrupted && o.injectCorruptionAt > 0 && now - t0 >= (long) (o.injectCorruptionAt * 1e9)) {
                    corrupted = true;
                    statics.forEach(EchoServer::corruptNextEcho);
                }
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (IOException | RuntimeException e) {
                swarm.churn.fail("control step: " + e);
            }
        }
        if (down != null) {
            down.openListener();
        }
    }

    // ---- sampling ----

    private void sampleUntil(long t0, Process proxy, Process genesis, Loads loads, Path proxyLog, Path dir)
        throws IOException, InterruptedException {
        String jcmd = Path.of(Path.of(o.java).getParent().toString(), "jcmd").toString();
        long period = (long) (o.sampleSeconds * 1e9);
        long end = t0 + o.runNanos();
        Files.createDirectories(o.out.toAbsolutePath().getParent());
        try (Writer csv = Files.newBufferedWriter(o.out, StandardCharsets.UTF_8)) {
            csv.write(Sample.CSV_HEADER + "\n");
            for (long next = t0 + period; next - end <= 0; next += period) {
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                if (!proxy.isAlive() || !genesis.isAlive()) {
                    problems.add((proxy.isAlive() ? "Genesis" : "the proxy") + " died during the run (exit "
                        + (proxy.isAlive() ? genesis.exitValue() : proxy.exitValue()) + ")");
                    return;
                }
                long[] nmt = Sample.nativeMemory(jcmd, proxy.pid(), dir);
                Sample s = new Sample((System.nanoTime() - t0) / 1e9, Sample.fds(proxy.pid()),
                    Sample.rssKb(proxy.pid()), nmt[0], nmt[1], Sample.fds(genesis.pid()), Sample.rssKb(genesis.pid()),
                    liveVms, loads.tallies().stream().mapToLong(t -> t.ops.sum()).sum(),
                    loads.tallies().stream().mapToLong(t -> t.bytesVerified.sum()).sum(),
                    loads.tallies().stream().mapToLong(t -> t.cutByKill.sum() + t.cutUnattributed.sum()).sum(),
                    loads.failures(), Sample.errorLines(proxyLog, null));
                samples.add(s);
                csv.write(s.csv() + "\n");
                csv.flush();
                log.printf(Locale.ROOT, "  %6.0f s  proxy fds %5d  rss %6.1f MB  direct %6.1f MB | genesis fds %3d "
                    + "rss %6.1f MB | vms %2d  failures %d%n", s.seconds(), s.proxyFds(), s.proxyRssKb() / 1024.0,
                    s.proxyDirectKb() / 1024.0, s.genesisFds(), s.genesisRssKb() / 1024.0, s.vms(), s.failures());
            }
        }
    }

    // ---- verdict and report ----

    private boolean verdict(Loads loads, Swarm swarm, Path proxyLog, Path genesisLog, Instant started)
        throws IOException {
        double runSeconds = o.minutes * 60;
        double warmup = warmupSeconds(runSeconds);
        List<Sample> after = samples.stream().filter(s -> s.seconds() >= warmup).toList();
        List<Growth> growth = List.of(
            growth("proxy descriptors", "", after, s -> s.proxyFds(), FD_TOLERANCE),
            growth("proxy RSS", "MiB", after, s -> s.proxyRssKb() / 1024.0, RSS_TOLERANCE_KB / 1024),
            growth("proxy direct memory (NMT Other)", "MiB", after, s -> s.proxyDirectKb() / 1024.0,
                DIRECT_TOLERANCE_KB / 1024),
            growth("Genesis descriptors", "", after, s -> s.genesisFds(), GENESIS_FD_TOLERANCE),
            growth("Genesis RSS", "MiB", after, s -> s.genesisRssKb() / 1024.0, GENESIS_RSS_TOLERANCE_KB / 1024));
        for (Growth g : growth) {
            if (g.tooShort()) {
                problems.add(g.metric() + ": only " + g.samples() + " samples after the " + (int) warmup
                    + " s warm-up (at least " + Growth.MIN_SAMPLES + " needed)");
            } else if (g.grew()) {
                problems.add(String.format(Locale.ROOT, "%s grew: fitted rise %.1f %s after the warm-up, tolerance "
                    + "%.0f", g.metric(), g.rise(), g.unit(), g.tolerance()));
            }
        }
        if (samples.stream().anyMatch(s -> s.proxyDirectKb() < 0)) {
            problems.add("jcmd did not report the proxy's native memory in every sample");
        }
        long failures = loads.failures() + swarm.churn.failures.get();
        if (failures > 0) {
            problems.add(failures + " failed operations (lost, corrupted or cut bytes on a live server, or churn "
                + "not confirmed by Genesis)");
        }
        List<String> errorLines = new ArrayList<>();
        long proxyErrors = Sample.errorLines(proxyLog, errorLines);
        if (proxyErrors > 0) {
            problems.add(proxyErrors + " error lines in the proxy's log");
        }
        long genesisErrors = Sample.errorLines(genesisLog, errorLines);
        if (genesisErrors > 0) {
            problems.add(genesisErrors + " error lines in Genesis' log");
        }
        String plog = read(proxyLog);
        long staticDown = plog.lines().filter(l -> l.contains("Server static/") && l.contains(" is DOWN")).count();
        long swarmDown = plog.lines().filter(l -> l.contains("Server swarm/") && l.contains(" is DOWN")).count();
        if (staticDown < completedFlaps) {
            problems.add("the proxy logged " + staticDown + " static servers DOWN for " + completedFlaps
                + " listeners closed: its health checks missed some");
        }
        if (swarm.expired > 0 && swarm.confirmedGone == 0) {
            problems.add("no leave or expiry was confirmed by Genesis");
        }
        boolean passed = problems.isEmpty();
        Path md = markdownPath();
        Files.writeString(md, markdown(passed, started, warmup, growth, loads, swarm, staticDown, swarmDown,
            errorLines), StandardCharsets.UTF_8);
        log.println();
        log.print(markdown(passed, started, warmup, growth, loads, swarm, staticDown, swarmDown, errorLines));
        log.println("planetary soak: samples in " + o.out.toAbsolutePath() + ", summary in " + md.toAbsolutePath());
        return passed;
    }

    private static Growth growth(String metric, String unit, List<Sample> after, ToDoubleFunction<Sample> f,
                                 double tolerance) {
        double[] t = after.stream().mapToDouble(Sample::seconds).toArray();
        double[] v = after.stream().mapToDouble(f).toArray();
        return Growth.of(metric, unit, t, v, tolerance);
    }

    Path markdownPath() {
        String name = o.out.getFileName().toString();
        String base = name.endsWith(".csv") ? name.substring(0, name.length() - 4) : name;
        return o.out.resolveSibling(base + ".md");
    }

    private String markdown(boolean passed, Instant started, double warmup, List<Growth> growth, Loads loads,
                            Swarm swarm, long staticDown, long swarmDown, List<String> errorLines) {
        StringBuilder b = new StringBuilder();
        b.append("## Soak ").append(passed ? "PASSED" : "FAILED").append("\n\n");
        b.append(String.format(Locale.ROOT, "`%s`, started %s, %.1f minutes of load, %d samples (every %.0f s), "
            + "warm-up %.0f s; load: %d bulk streams at %.1f MB/s, %d request/response connections at %.0f/s, "
            + "%.0f new connections/s, %d idle connections; churn every %.0f s; a static server fails its checks "
            + "every %.0f s.%n%n", o.command, started, o.minutes, samples.size(), o.sampleSeconds, warmup, o.bulk,
            o.bulkBytesPerSecond / 1e6, o.requestConnections, o.requestsPerSecond, o.connectsPerSecond, o.idle,
            o.churnSeconds, o.flapSeconds));
        b.append("| resource | after warm-up | at the end | max | fitted rise | tolerance | verdict |\n");
        b.append("|---|---:|---:|---:|---:|---:|---|\n");
        for (Growth g : growth) {
            b.append(String.format(Locale.ROOT, "| %s%s | %.1f | %.1f | %.1f | %+.1f | %.0f | %s |%n", g.metric(),
                g.unit().isEmpty() ? "" : ", " + g.unit(), g.first(), g.last(), g.max(), g.rise(), g.tolerance(),
                g.tooShort() ? "too short" : g.grew() ? "**GREW**" : "flat"));
        }
        b.append("\n| load | connections | operations | bytes verified | cut: their VM was killed | cut before "
            + "announcing, next to a kill | failures |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for (Tally t : loads.tallies()) {
            b.append(String.format(Locale.ROOT, "| %s | %,d | %,d | %,d | %,d | %,d | %d |%n", t.kind,
                t.connections.sum(), t.ops.sum(), t.bytesVerified.sum(), t.cutByKill.sum(), t.cutUnattributed.sum(),
                t.failures.get()));
        }
        b.append(String.format(Locale.ROOT, "%nChurn: %d VMs registered, %d left, %d expired; %d leaves and expiries "
            + "confirmed gone by Genesis; %d failures. Health checks: %d static listeners closed (%d reopened), the "
            + "proxy logged %d static and %d swarm servers DOWN.%n", swarm.registered, swarm.left, swarm.expired,
            swarm.confirmedGone, swarm.churn.failures.get(), flaps, completedFlaps, staticDown, swarmDown));
        if (!problems.isEmpty()) {
            b.append("\nWhy it failed:\n");
            problems.forEach(p -> b.append("- ").append(p).append('\n'));
        }
        List<String> messages = new ArrayList<>();
        loads.tallies().forEach(t -> messages.addAll(t.messages()));
        messages.addAll(swarm.churn.messages());
        if (!messages.isEmpty()) {
            b.append("\nFirst failures:\n");
            messages.forEach(m -> b.append("- ").append(m).append('\n'));
        }
        if (!errorLines.isEmpty()) {
            b.append("\nError lines from the logs (proxy first, then Genesis):\n");
            errorLines.forEach(m -> b.append("    ").append(m).append('\n'));
        }
        return b.toString();
    }

    // ---- files ----

    /** On failure the processes' logs are kept beside the report (FILE.proxy.log, FILE.genesis.log). */
    private void keepLogs(Path dir) {
        for (String name : List.of("proxy.log", "genesis.log")) {
            Path from = dir.resolve(name);
            if (Files.exists(from)) {
                try {
                    Path to = o.out.resolveSibling(o.out.getFileName() + "." + name);
                    Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
                    log.println("planetary soak: kept " + to.toAbsolutePath());
                } catch (IOException e) {
                    log.println("planetary soak: could not keep " + name + ": " + e);
                }
            }
        }
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(cannot read " + p + ": " + e + ")";
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
