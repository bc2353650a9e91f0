package dev.planetary.bench.harness;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The harness's command line. Defaults are the full run; {@code --smoke} shrinks every figure to seconds. */
public final class Options {

    boolean smoke;
    int reps = 3;
    double warmupSeconds = 3;
    double measureSeconds = 5;
    /**
     * Unrecorded load on each freshly started target before its traffic figures, so that they are steady-state
     * figures: a JVM proxy pinned to one core spends its first ~15 s compiling its connection path (C2 took 4-5 s of
     * CPU in the first 12 s of a new-connections load), which a C program does not. Every target gets the same.
     */
    double proxyWarmupSeconds = 20;
    /** CPUs of this machine, read before the harness pins itself (the JVM re-reads its affinity on each call). */
    final int cores = Runtime.getRuntime().availableProcessors();
    /** The CPUs this process may run on at start (the unpinned passes' list), e.g. {@code 0-1}. */
    final String allCpus = allowedCpus(cores);
    /**
     * Event-loop threads of both proxies ({@code nbthread}), equal for fairness: one pass of every figure per
     * value, in order. Default 1 (pinned with {@code --pin}: a figure per core) and every core of the machine
     * (unpinned: the product's default of one event loop per core).
     */
    List<Integer> nbthreads = new ArrayList<>(cores > 1 ? List.of(1, cores) : List.of(1));
    boolean pin;
    String proxyCpus = "0";
    String generatorCpus = "1";
    List<TargetSpec> targets = new ArrayList<>(List.of(TargetSpec.of(Target.DIRECT), TargetSpec.of(Target.HAPROXY),
            TargetSpec.of(Target.PLANETARY)));
    List<Figure.Group> groups = new ArrayList<>(List.of(Figure.Group.values()));
    /** Which loads of the traffic group run (for profiling one load at a time). */
    List<String> loads = new ArrayList<>(List.of("bulk1", "bulk8", "rr", "cps"));
    int idleConnections = 9_000;
    int startupPorts = 10_000;
    int startupLow = 10_000;
    int startupHigh = 19_999;
    int portLow = 32_100;
    int portHigh = 32_699;
    int rrConnections = 50;
    int cpsConcurrency = 32;
    /** Source addresses of the Netty client that opens the idle connections. */
    int sources = 16;
    /** Keep the idle connections open this long after measuring (to inspect the proxy with jcmd, pmap...). */
    int idleHoldSeconds;
    String haproxy = "/usr/sbin/haproxy";
    String wrk = "/usr/bin/wrk";
    /** The C compiler that builds the harness's own load tool ({@code planetary-load.c}) into the run directory. */
    String cc = "/usr/bin/cc";
    String javaCmd = ProcessHandle.current().info().command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    String planetaryOpts = "-Xms256m -Xmx256m -XX:+UseParallelGC -XX:MaxDirectMemorySize=1g";
    Path proxyJar;
    Path out;
    String command;
    String note = "";
    /**
     * UDP port on 127.0.0.1 where the harness counts syslog lines ({@code --syslog-sink}), 0 for none: with a
     * connection log configured, both proxies then send to a reader (as to a syslog daemon) instead of a closed port
     * (whose ICMP replies the kernel would add to the proxy's cost), and the lines are checked against connections.
     */
    int syslogSink;

    static final String USAGE = String.join("\n",
            "usage: harness [options]",
            "  --smoke               seconds per figure, 1 repetition, small idle/start-up counts (CI)",
            "  --reps N              repetitions of each figure per target (default 3; median, min, max)",
            "  --warmup S --time S   warm-up and measured seconds per throughput figure (default 3 and 5)",
            "  --proxy-warmup S      unrecorded mixed load on each new target process before its traffic figures",
            "                        (default 20; the cold new-connections figure is taken before it)",
            "  --nbthread LIST       nbthread of both proxies, one pass of every figure per value (default 1 and",
            "                        the number of cores, e.g. 1,2)",
            "  --pin                 taskset in the passes whose nbthread fits the proxy CPUs: proxy on CPU 0,",
            "                        generator and backends on CPU 1; the other passes run unpinned on every core",
            "  --proxy-cpus L --generator-cpus L   CPU lists for --pin (defaults 0 and 1)",
            "  --targets LIST        subset of direct,haproxy,planetary (default all three)",
            "  --only LIST           subset of the figure groups: traffic,idle,startup (default all)",
            "  --variant L=FLAGS     one more planetary column, labelled L, run with these JVM flags (repeatable;",
            "                        e.g. --variant uring='-Xms256m -Xmx256m -Dplanetary.transport=io_uring')",
            "  --variant-jar L=PATH  the proxy jar of variant L (a new column if L is not a --variant yet)",
            "  --variant-java L=PATH the java binary of variant L (e.g. a newer JDK; likewise a new column if new)",
            "  --variant-config L=FILE-or-LINES   config of variant L merged into the generated one, section by",
            "                        section (a file, or the lines themselves; \\n separates lines), e.g.",
            "                        --variant-config tcplog='global\\n  log 127.0.0.1:5140 local0\\ndefaults\\n"
                    + "  log global\\n  option tcplog'",
            "  --haproxy-variant L=FILE-or-LINES  one more haproxy column, labelled L, whose config merges these",
            "                        lines as --variant-config does (the same fragment for both proxies, e.g.",
            "                        --haproxy-variant haproxy-tcplog='global\\n  log 127.0.0.1:5140 local0\\n...')",
            "  --syslog-sink PORT    count the syslog lines sent to 127.0.0.1:PORT (a reader, as a syslog daemon",
            "                        would be) and report log lines per new connection (default: no sink)",
            "  --loads LIST          subset of the traffic loads: bulk1,bulk8,rr,cps (default all; for profiling)",
            "  --idle N              idle proxied connections for the memory figure (default 9000: see README)",
            "  --idle-hold S         keep the idle connections open S seconds after measuring (for jcmd/pmap)",
            "  --startup-ports N     ports in the start-up config (default 10000)",
            "  --startup-range L-H   where to look for them (default 10000-19999)",
            "  --ports L-H           where to put the other listening ports (default 32100-32699: outside the shipped plan, below the ephemeral range)",
            "  --sources N           source addresses 127.0.0.2.. of the idle connections (default 16)",
            "  --planetary-opts S    JVM flags of the proxy (default the launcher's)",
            "  --proxy-jar PATH      planetary-proxy.jar (default proxy/target/ of the clone)",
            "  --haproxy PATH        haproxy binary (default /usr/sbin/haproxy)",
            "  --wrk PATH            wrk, the request/response and new-connection load (default /usr/bin/wrk)",
            "  --cc PATH             C compiler for the harness's own tool: bulk sender and sink, HTTP responder",
            "                        (default /usr/bin/cc)",
            "  --out PATH            results file (default bench/RESULTS.md of the clone; with --smoke",
            "                        bench/target/RESULTS-smoke.md, so a smoke run never touches the committed file)",
            "  --command S           the command line to record in the results",
            "  --note S              a line to record with the results (e.g. 'noisy: concurrent builds')");

    /** Changes Planetary variant {@code label}, adding it as a new column (the run's defaults) if it is new. */
    private void variant(String label, java.util.function.UnaryOperator<TargetSpec> change) {
        for (int j = 0; j < targets.size(); j++) {
            if (targets.get(j).label().equals(label)) {
                targets.set(j, change.apply(targets.get(j)));
                return;
            }
        }
        targets.add(change.apply(TargetSpec.variant(label)));
    }

    /** Adds HAProxy column {@code label} running the generated config with {@code fragment} merged in. */
    private void haproxyVariant(String label, String fragment) {
        if (targets.stream().anyMatch(t -> t.label().equals(label))) {
            throw new IllegalArgumentException("--haproxy-variant: column " + label + " exists already");
        }
        targets.add(TargetSpec.of(Target.HAPROXY).withLabel(label).withConfig(fragment));
    }

    /** {@code --variant-config}'s value: the text of the file it names, else the lines themselves. */
    static String configFragment(String v) {
        try {
            Path p = Path.of(v);
            if (!v.isBlank() && Files.isRegularFile(p)) {
                return Files.readString(p);
            }
        } catch (java.nio.file.InvalidPathException e) {
            // config lines, not a path
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("--variant-config: cannot read " + v, e);
        }
        return v.replace("\\n", "\n");
    }

    public static Options parse(String[] args) {
        Options o = new Options();
        List<String> a = List.of(args);
        for (int i = 0; i < a.size(); i++) {
            String k = a.get(i);
            switch (k) {
                case "--smoke" -> o.smoke = true;
                case "--reps" -> o.reps = Integer.parseInt(a.get(++i));
                case "--warmup" -> o.warmupSeconds = Double.parseDouble(a.get(++i));
                case "--time" -> o.measureSeconds = Double.parseDouble(a.get(++i));
                case "--proxy-warmup" -> o.proxyWarmupSeconds = Double.parseDouble(a.get(++i));
                case "--nbthread" -> {
                    o.nbthreads.clear();
                    for (String n : a.get(++i).split(",")) {
                        int v = Integer.parseInt(n.trim());
                        if (v < 1) {
                            throw new IllegalArgumentException("--nbthread: " + v + " is not a thread count");
                        }
                        o.nbthreads.add(v);
                    }
                }
                case "--pin" -> o.pin = true;
                case "--proxy-cpus" -> o.proxyCpus = a.get(++i);
                case "--generator-cpus" -> o.generatorCpus = a.get(++i);
                case "--targets" -> {
                    o.targets.clear();
                    for (String t : a.get(++i).split(",")) {
                        o.targets.add(TargetSpec.of(Target.of(t)));
                    }
                }
                case "--only" -> {
                    o.groups.clear();
                    for (String g : a.get(++i).split(",")) {
                        o.groups.add(Figure.Group.valueOf(g.trim().toUpperCase(Locale.ROOT)));
                    }
                }
                case "--variant" -> {
                    String v = a.get(++i);
                    int eq = v.indexOf('=');
                    o.variant(v.substring(0, eq), t -> t.withOpts(v.substring(eq + 1)));
                }
                case "--variant-jar" -> {
                    String v = a.get(++i);
                    int eq = v.indexOf('=');
                    o.variant(v.substring(0, eq), t -> t.withJar(Path.of(v.substring(eq + 1))));
                }
                case "--variant-java" -> {
                    String v = a.get(++i);
                    int eq = v.indexOf('=');
                    o.variant(v.substring(0, eq), t -> t.withJava(v.substring(eq + 1)));
                }
                case "--variant-config" -> {
                    String v = a.get(++i);
                    int eq = v.indexOf('=');
                    String fragment = configFragment(v.substring(eq + 1));
                    ConfigGen.merge("", fragment); // a malformed fragment fails now, not at its first figure
                    o.variant(v.substring(0, eq), t -> t.withConfig(fragment));
                }
                case "--haproxy-variant" -> {
                    String v = a.get(++i);
                    int eq = v.indexOf('=');
                    if (eq <= 0) {
                        throw new IllegalArgumentException("--haproxy-variant: expected LABEL=FILE-or-LINES, got " + v);
                    }
                    String fragment = configFragment(v.substring(eq + 1));
                    ConfigGen.merge("", fragment);
                    o.haproxyVariant(v.substring(0, eq), fragment);
                }
                case "--syslog-sink" -> o.syslogSink = Integer.parseInt(a.get(++i));
                case "--loads" -> o.loads = new ArrayList<>(List.of(a.get(++i).split(",")));
                case "--idle-hold" -> o.idleHoldSeconds = Integer.parseInt(a.get(++i));
                case "--idle" -> o.idleConnections = Integer.parseInt(a.get(++i));
                case "--startup-ports" -> o.startupPorts = Integer.parseInt(a.get(++i));
                case "--startup-range" -> {
                    String[] r = a.get(++i).split("-");
                    o.startupLow = Integer.parseInt(r[0]);
                    o.startupHigh = Integer.parseInt(r[1]);
                }
                case "--ports" -> {
                    String[] r = a.get(++i).split("-");
                    o.portLow = Integer.parseInt(r[0]);
                    o.portHigh = Integer.parseInt(r[1]);
                }
                case "--sources" -> o.sources = Integer.parseInt(a.get(++i));
                case "--planetary-opts" -> o.planetaryOpts = a.get(++i);
                case "--proxy-jar" -> o.proxyJar = Path.of(a.get(++i));
                case "--haproxy" -> o.haproxy = a.get(++i);
                case "--wrk" -> o.wrk = a.get(++i);
                case "--cc" -> o.cc = a.get(++i);
                case "--out" -> o.out = Path.of(a.get(++i));
                case "--command" -> o.command = a.get(++i);
                case "--note" -> o.note = a.get(++i);
                case "-h", "--help" -> throw new IllegalArgumentException(USAGE);
                default -> throw new IllegalArgumentException("unknown option " + k + "\n" + USAGE);
            }
        }
        if (o.smoke) {
            o.reps = Math.min(o.reps, 1);
            o.warmupSeconds = Math.min(o.warmupSeconds, 0.3);
            o.measureSeconds = Math.min(o.measureSeconds, 1);
            o.proxyWarmupSeconds = Math.min(o.proxyWarmupSeconds, 0.6);
            o.idleConnections = Math.min(o.idleConnections, 500);
            o.startupPorts = Math.min(o.startupPorts, 500);
        }
        Path root = repoRoot();
        if (o.proxyJar == null && System.getProperty("planetary.jar") != null) {
            o.proxyJar = Path.of(System.getProperty("planetary.jar"));
        }
        if (o.proxyJar == null) {
            o.proxyJar = root == null ? Path.of("planetary-proxy.jar") : root.resolve("proxy/target/planetary-proxy.jar");
        }
        if (o.out == null && o.smoke) {
            // a smoke run's figures mean nothing: never over the committed results
            o.out = root == null ? Path.of("RESULTS-smoke.md") : root.resolve("bench/target/RESULTS-smoke.md");
        } else if (o.out == null) {
            o.out = root == null ? Path.of("RESULTS.md") : root.resolve("bench/RESULTS.md");
        }
        if (o.command == null) {
            o.command = "java -jar bench/target/planetary-bench.jar harness " + String.join(" ", args);
        }
        return o;
    }

    /** {@code Cpus_allowed_list} of this process, or 0..cores-1 when /proc cannot tell. */
    static String allowedCpus(int cores) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("Cpus_allowed_list:")) {
                    return l.substring(l.indexOf(':') + 1).trim();
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return cores <= 1 ? "0" : "0-" + (cores - 1);
    }

    /** The clone this runs in: the working directory or a parent holding conf/planetary.cfg and bench/. */
    static Path repoRoot() {
        Path d = Path.of("").toAbsolutePath();
        for (int i = 0; i < 6 && d != null; i++, d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("conf/planetary.cfg")) && Files.isDirectory(d.resolve("bench"))) {
                return d;
            }
        }
        return null;
    }
}
