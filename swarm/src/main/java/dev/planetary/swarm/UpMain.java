package dev.planetary.swarm;

import dev.planetary.registry.client.CommandLines;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code bin/planetary up}: Genesis, the proxy on the swarm's port plan and a local swarm, joined, in one command.
 * Genesis and the proxy run as their own processes through {@code bin/planetary}, exactly as a user starts them
 * (their logs in {@code DIR/logs}); the VMs live in this JVM ({@link SwarmHost}). Waits until every VM answers
 * through the proxy, prints what to try, shows a status line, and on Ctrl-C (or SIGTERM) stops everything it started,
 * by PID, and exits 0.
 */
@Command(name = "planetary up", sortOptions = false, mixinStandardHelpOptions = false,
    description = "Start Genesis, the proxy and a local swarm of VMs; Ctrl-C stops them all.")
public final class UpMain implements Callable<Integer> {

    /** Genesis' address: the shipped config's {@code genesis swarm} section points there. */
    static final String GENESIS_LISTEN = "127.0.0.1:9000";
    /** The proxy's pcpu entrance: answering there means the proxy listens. */
    static final int ENTRANCE = 10_000;
    /** How long Genesis and the proxy may take to listen (a cold JVM and, for the proxy, thousands of binds). */
    static final Duration START_TIMEOUT = Duration.ofSeconds(120);
    /** How long each stop may take before SIGKILL. */
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    /** Marker that makes a directory one of ours, so that --fresh never deletes anything else. */
    static final String MARKER = ".planetary-up";

    @Option(names = "--dir", paramLabel = "DIR", description = "State: Genesis' data, keys, logs, the swarm's VMs "
        + "(default ./planetary-up). A second run on it picks the swarm up again.")
    Path dir = Path.of("planetary-up");
    @Option(names = "--fresh", description = "Delete DIR first (only a directory made by up).")
    boolean fresh;
    @Option(names = "--vms", paramLabel = "N", description = "Local VMs to run (default 8; a second run keeps the "
        + "previous run's VMs and adds any missing).")
    int vmCount = 8;
    @Option(names = "--full", description = "Insist on the shipped port plan (22,001 ports) even where the descriptor "
        + "limit is too low for it: the proxy then refuses to start and says how to raise the limit.")
    boolean full;
    @Option(names = "--ssh", description = "Run a real sshd per VM (OpenSSH), reachable through 20000 and each VM's "
        + "pfsshfs port with the key up prints.")
    boolean ssh;
    @Option(names = "--ttl", paramLabel = "TIME", description = "Genesis' TTL (default its own, 15s): how long a "
        + "killed VM takes to expire.")
    String ttl;
    @Option(names = "--heartbeat-interval", paramLabel = "TIME", description = "Genesis' heartbeat interval "
        + "(default its own, 5s); must be shorter than the TTL.")
    String heartbeat;
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    private final PrintStream out;
    private final PrintStream err;
    private final List<Process> started = new ArrayList<>();

    UpMain(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        CommandLines.logToStderr();
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"); // 1,000 agents: no line per VM
        System.exit(CommandLines.run(new UpMain(System.out, System.err), "up",
            "usage: bin/planetary up [--dir DIR] [--fresh] [--vms N] [--full] [--ssh]", args, System.out,
            System.err));
    }

    @Override
    public Integer call() throws Exception {
        if (vmCount < 0 || vmCount > SwarmHost.MAX_SPAWN) {
            err.println("planetary up: --vms must be 0.." + SwarmHost.MAX_SPAWN);
            return 2;
        }
        long t0 = System.nanoTime();
        Path root = root();
        dir = dir.toAbsolutePath().normalize();
        if (!prepareDir()) {
            return 1;
        }
        Path logs = Files.createDirectories(dir.resolve("logs"));
        Path pidFile = dir.resolve("up.pid");
        Files.writeString(pidFile, ProcessHandle.current().pid() + "\n");

        CountDownLatch stop = new CountDownLatch(1);
        for (String name : new String[] {"INT", "TERM"}) {
            Signal.handle(new Signal(name), s -> stop.countDown());
        }
        SwarmHost host = null;
        ControlServer control = null;
        int code = 0;
        try {
            long limit = descriptorLimit();
            PlanChoice plan = PlanChoice.choose(limit, Runtime.getRuntime().availableProcessors(), full);
            out.printf("planetary up: descriptor limit %,d; %s (the proxy needs %,d descriptors)%s%n", limit,
                plan.describe(), plan.needed(), plan.full() || full ? ""
                    : "; the shipped plan needs " + PlanChoice.needed(PlanChoice.listeners(10_000, 10_000,
                    Runtime.getRuntime().availableProcessors()), PlanChoice.FULL_MAXCONN) + " (--full insists)");

            // Genesis
            List<String> g = new ArrayList<>(List.of(root.resolve("bin/planetary").toString(), "registry",
                "--listen", GENESIS_LISTEN, "--data-dir", dir.resolve("genesis").toString()));
            if (!plan.full()) {
                g.addAll(List.of("--port-plan", plan.genesisPlan()));
            }
            if (ttl != null) {
                g.addAll(List.of("--ttl", ttl));
            }
            if (heartbeat != null) {
                g.addAll(List.of("--heartbeat-interval", heartbeat));
            }
            Process genesis = start(g, logs.resolve("genesis.log"));
            // The proxy starts while Genesis does (it follows Genesis and waits for it, as after any outage): the two
            // JVM starts and the proxy's binds overlap. Its config is checked first (stats supported?).
            Path cfg = dir.resolve("planetary.cfg");
            Stats stats = writeConfig(root, plan, cfg, logs);
            Process proxy = start(List.of(root.resolve("bin/planetary").toString(), "proxy", "-f", cfg.toString()),
                logs.resolve("proxy.log"));
            URI genesisUri = URI.create("http://" + GENESIS_LISTEN);
            awaitGenesis(genesis, genesisUri, logs.resolve("genesis.log"));
            String token = Files.readString(dir.resolve("genesis/token"), StandardCharsets.UTF_8).trim();
            out.printf("planetary up: Genesis on %s (pid %d, data %s), ready at %.1f s%n", genesisUri, genesis.pid(),
                dir.resolve("genesis"), since(t0));
            awaitListening(proxy, ENTRANCE, logs.resolve("proxy.log"));
            out.printf("planetary up: proxy (pid %d, config %s), listening at %.1f s%n", proxy.pid(), cfg, since(t0));

            // the swarm
            host = new SwarmHost(dir, genesisUri, token, ssh ? SshSetup.prepare(dir) : null);
            control = ControlServer.start(host, dir.resolve("swarm.sock"));
            List<String> previous = host.persisted();
            List<LocalVm> vms = new ArrayList<>(host.restore(previous));
            if (vms.size() < vmCount) {
                vms.addAll(host.spawn(vmCount - vms.size()));
            }
            out.printf("planetary up: %d VMs started at %.1f s; waiting until each answers through the proxy%n",
                vms.size(), since(t0));
            host.awaitRoutable(vms, SwarmHost.ROUTABLE_TIMEOUT);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            out.printf("planetary up: all %d VMs routable %.1f s after start%s%n", vms.size(), ms / 1000.0,
                previous.isEmpty() ? "" : " (" + previous.size() + " picked up from the previous run)");
            printTour(host, plan, stats);

            code = statusUntil(stop, host, genesis, proxy);
        } catch (IllegalStateException | IllegalArgumentException | IOException e) {
            err.println("planetary up: " + e.getMessage());
            code = 1;
        } catch (RuntimeException e) {
            err.println("planetary up: " + e);
            code = 1;
        } finally {
            if (control != null) {
                control.close();
            }
            if (host != null) {
                host.close();
            }
            stopAll();
            Files.deleteIfExists(pidFile);
        }
        out.println("planetary up: stopped");
        return code;
    }

    private static double since(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    /** The repository root: the launcher passes it; else two levels above the jar. */
    static Path root() {
        String r = System.getProperty("planetary.root");
        if (r != null) {
            return Path.of(r);
        }
        try {
            Path jar = Path.of(UpMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return jar.getParent().getParent().getParent();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException("cannot find the repository root; run bin/planetary up");
        }
    }

    private boolean prepareDir() throws IOException {
        if (Files.exists(dir.resolve("up.pid"))) {
            String pid = Files.readString(dir.resolve("up.pid")).trim();
            boolean alive = pid.matches("\\d+") && ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive)
                .orElse(false);
            if (alive) {
                err.println("planetary up: another up runs on " + dir + " (pid " + pid + "); stop it first, or use "
                    + "another --dir");
                return false;
            }
        }
        if (fresh && Files.exists(dir)) {
            boolean ours = Files.exists(dir.resolve(MARKER));
            boolean empty;
            try (Stream<Path> s = Files.list(dir)) {
                empty = s.findAny().isEmpty();
            }
            if (!ours && !empty) {
                err.println("planetary up: --fresh refuses to delete " + dir + ": it was not made by up (no " + MARKER
                    + " in it)");
                return false;
            }
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(MARKER), "made by bin/planetary up; --fresh may delete this directory\n");
        return true;
    }

    /** RLIMIT_NOFILE's hard limit: what the proxy's JVM raises its own soft limit to. */
    static long descriptorLimit() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                String[] f = line.substring("Max open files".length()).trim().split("\\s+");
                return f[1].equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(f[1]);
            }
        }
        throw new IOException("no 'Max open files' in /proc/self/limits");
    }

    private Process start(List<String> cmd, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().remove("GENESIS_TOKEN"); // the token lives in DIR/genesis/token, made at the first start
        Process p = pb.start();
        started.add(p);
        return p;
    }

    private static void awaitGenesis(Process p, URI uri, Path log) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            if (!p.isAlive()) {
                throw new IllegalStateException("Genesis exited (" + p.exitValue() + "):\n" + tail(log));
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri.resolve("/api/health"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("Genesis did not answer in " + START_TIMEOUT.toSeconds() + " s:\n"
                    + tail(log));
            }
            Thread.sleep(100);
        }
    }

    private static void awaitListening(Process p, int port, Path log) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            if (!p.isAlive()) {
                throw new IllegalStateException("the proxy exited (" + p.exitValue() + "):\n" + tail(log));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
                return;
            } catch (IOException e) {
                // not listening yet
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the proxy did not listen on " + port + " in "
                    + START_TIMEOUT.toSeconds() + " s:\n" + tail(log));
            }
            Thread.sleep(100);
        }
    }

    static String tail(Path log) throws IOException {
        List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    }

    /** Which of the stats surfaces the proxy's config has. */
    record Stats(boolean page, boolean socket) {
    }

    /**
     * Writes the proxy's config for the plan. The stats page on 127.0.0.1:8404 and the runtime socket
     * {@code DIR/admin.sock} (a shipped {@code stats socket} path is moved there: /run or /tmp paths may be another
     * user's) go in when this proxy build accepts them ({@code proxy -c} says so): both, else the socket alone, else
     * neither.
     */
    private Stats writeConfig(Path root, PlanChoice plan, Path cfg, Path logs)
        throws IOException, InterruptedException {
        String base = plan.config(Files.readString(root.resolve("conf/planetary.cfg")));
        String socket = java.util.regex.Matcher.quoteReplacement(dir.resolve("admin.sock").toString());
        boolean hasSocket = java.util.regex.Pattern.compile("(?m)^\\s*stats socket\\s").matcher(base).find();
        boolean hasPage = java.util.regex.Pattern.compile("(?m)^\\s*listen stats\\s*$").matcher(base).find();
        String withSocket = hasSocket
            ? base.replaceAll("(?m)^(\\s*stats socket\\s+)\\S+", "$1" + socket)
            : base.replaceFirst("(?m)^global\\s*$", "global\n    stats socket " + socket + " mode 600 level admin");
        String withBoth = hasPage ? withSocket : withSocket + """

            # Added by up: the stats page on loopback (no password needed there; add stats auth before exposing it)
            listen stats
                bind 127.0.0.1:8404
                mode http
                stats enable
                stats uri /
                stats refresh 5s
            """;
        if (valid(root, cfg, withBoth, logs)) {
            return new Stats(true, true);
        }
        if (!hasPage && valid(root, cfg, withSocket, logs)) {
            return new Stats(false, true);
        }
        String without = base.replaceAll("(?m)^\\s*stats (socket|timeout)\\s.*$", "");
        Files.writeString(cfg, without);
        return new Stats(false, false);
    }

    /** Writes {@code text} to {@code cfg} and asks the proxy whether it accepts it ({@code proxy -c}). */
    private static boolean valid(Path root, Path cfg, String text, Path logs) throws IOException, InterruptedException {
        Files.writeString(cfg, text);
        Process check = new ProcessBuilder(root.resolve("bin/planetary").toString(), "proxy", "-c", "-f",
            cfg.toString()).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logs.resolve("proxy-check.log").toFile())).start();
        if (check.waitFor(60, TimeUnit.SECONDS)) {
            return check.exitValue() == 0;
        }
        check.destroyForcibly();
        return false;
    }

    private void printTour(SwarmHost host, PlanChoice plan, Stats stats) {
        LocalVm first = host.vms().get(0);
        Map<String, Integer> ports = first.agent().ports();
        String key = host.ssh() == null ? null : host.ssh().clientKey().toString();
        String sshOpts = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR";
        StringBuilder b = new StringBuilder();
        b.append("\nTry (the README's Tour explains each line):\n");
        b.append("  printf 'hello\\n' | nc -N 127.0.0.1 10000             # the pcpu entrance: the least loaded VM answers\n");
        b.append(String.format("  printf 'hello\\n' | nc -N 127.0.0.1 %-5d             # %s's own (pinned) pcpu port%n",
            ports.get("pcpu"), first.id()));
        b.append("  head -c 10M /dev/zero | nc -N 127.0.0.1 30000          # an upload: the VM counts the bytes\n");
        if (key != null) {
            b.append(String.format("  ssh -p 20000 -i %s %s root@127.0.0.1   # a VM's sshd (forced command: its id)%n",
                key, sshOpts));
            b.append(String.format("  ssh -p %d -i %s %s root@127.0.0.1   # %s's sshd%n", ports.get("pfsshfs"), key,
                sshOpts, first.id()));
        } else {
            b.append("  (ssh: start up with --ssh for a real sshd per VM behind 20000)\n");
        }
        b.append("  http://127.0.0.1:32000/                                 # the WebSocket page, in a browser\n");
        b.append("  http://127.0.0.1:9000/                                  # the Genesis dashboard\n");
        if (stats.page()) {
            b.append("  http://127.0.0.1:8404/                                  # the proxy's stats page\n");
        } else {
            b.append("  (stats page: not supported by this proxy build yet)\n");
        }
        if (stats.socket()) {
            b.append(String.format("  echo 'show stat' | socat stdio %s%n", dir.resolve("admin.sock")));
        } else {
            b.append("  (stats socket: not supported by this proxy build yet)\n");
        }
        String d = dir.equals(Path.of("planetary-up").toAbsolutePath().normalize()) ? "" : " --dir " + dir;
        b.append("  bin/planetary swarm spawn --count 100").append(d).append("   # more VMs, taking traffic at once\n");
        b.append("  bin/planetary swarm list").append(d).append('\n');
        b.append("  bin/planetary swarm kill --count 10").append(d)
            .append("     # SIGKILL-like: Genesis expires them after its TTL\n");
        b.append("Ctrl-C stops everything started here.\n");
        out.print(b);
        out.flush();
    }

    /** The live status line until Ctrl-C; 1 when Genesis or the proxy died on its own. */
    private int statusUntil(CountDownLatch stop, SwarmHost host, Process genesis, Process proxy)
        throws InterruptedException {
        boolean tty = System.console() != null;
        long every = tty ? 1_000 : 10_000;
        long lastBytes = host.traffic().bytes();
        long lastAt = System.nanoTime();
        while (!stop.await(every, TimeUnit.MILLISECONDS)) {
            if (!genesis.isAlive() || !proxy.isAlive()) {
                err.printf("%nplanetary up: %s exited on its own (%d); stopping everything (logs in %s)%n",
                    genesis.isAlive() ? "the proxy" : "Genesis", (genesis.isAlive() ? proxy : genesis).exitValue(),
                    dir.resolve("logs"));
                return 1;
            }
            List<LocalVm> vms = host.vms();
            long registered = vms.stream().filter(LocalVm::registered).count();
            long bytes = host.traffic().bytes();
            long now = System.nanoTime();
            double rate = (bytes - lastBytes) * 1e9 / Math.max(1, now - lastAt);
            lastBytes = bytes;
            lastAt = now;
            String line = String.format("VMs active %d/%d · connections %d · %s/s", registered, vms.size(),
                host.traffic().connections(), human(rate));
            if (tty) {
                out.print("\r" + line + "    ");
            } else {
                out.println(line);
            }
            out.flush();
        }
        if (tty) {
            out.println();
        }
        return 0;
    }

    static String human(double bytesPerSecond) {
        if (bytesPerSecond >= 1 << 20) {
            return String.format("%.1f MB", bytesPerSecond / (1 << 20));
        }
        if (bytesPerSecond >= 1 << 10) {
            return String.format("%.1f KB", bytesPerSecond / (1 << 10));
        }
        return String.format("%.0f B", bytesPerSecond);
    }

    /** The proxy first (SIGTERM: soft stop; again: now), then Genesis; SIGKILL after the timeout. */
    private void stopAll() {
        for (int i = started.size() - 1; i >= 0; i--) {
            Process p = started.get(i);
            if (!p.isAlive()) {
                continue;
            }
            p.destroy();
            try {
                if (!p.waitFor(2, TimeUnit.SECONDS)) {
                    p.destroy(); // a second SIGTERM stops the proxy's soft stop at once
                    if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                        p.destroyForcibly();
                        p.waitFor(5, TimeUnit.SECONDS);
                    }
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
