package dev.planetary.registry.client.haproxy;

import dev.planetary.registry.client.CommandLines;

import dev.planetary.registry.client.PortPlanInfo;
import dev.planetary.registry.client.SwarmListener;
import dev.planetary.registry.client.SwarmView;
import dev.planetary.registry.client.SwarmWatch;
import dev.planetary.registry.client.WatchOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code planetary sync-haproxy}: Genesis drives a running HAProxy through its runtime API (companion mode), or
 * {@code --print-config} writes the haproxy.cfg that mode needs. Exit codes: 0 after SIGTERM/SIGINT (or a printed
 * config), 1 when the config cannot be printed (no port plan from Genesis in time), 2 for bad options.
 */
@Command(name = "planetary sync-haproxy", sortOptions = false, version = "Planetary sync-haproxy 0.1.0",
    description = "Keeps a running HAProxy's servers and pinned ports equal to Genesis' swarm, by push, without "
        + "reloads.")
public final class SyncHaproxyMain implements java.util.concurrent.Callable<Integer> {

    /** backend=service when no --map is given: the seed's four listeners and the services VMs declare for them. */
    static final Map<String, String> DEFAULT_MAP = defaultMap();
    /** How long --print-config waits for Genesis' port plan: a live Genesis answers in milliseconds. */
    static final Duration PLAN_WAIT = Duration.ofSeconds(10);
    /** HAProxy's names: backends are [A-Za-z0-9_.:-]; Genesis' service names are [a-z][a-z0-9_-]{0,31}. */
    private static final Pattern BACKEND = Pattern.compile("[A-Za-z0-9_.:-]{1,64}");
    private static final Pattern SERVICE = Pattern.compile("[a-z][a-z0-9_-]{0,31}");

    @Option(names = "--genesis", paramLabel = "URL", required = true, description = "Genesis base URL, e.g. "
        + "http://127.0.0.1:9000. Repeat for a fail-over list.")
    List<String> genesis = new ArrayList<>();

    @Option(names = "--socket", paramLabel = "PATH", required = true, description = "HAProxy's stats socket "
        + "(level admin), e.g. /run/haproxy/admin.sock.")
    Path socket;

    @Option(names = "--map", paramLabel = "BACKEND=SERVICE", description = "Keep BACKEND's servers equal to the "
        + "VMs declaring SERVICE (draining ones drain). Repeatable. Default: pcpu=pcpu pfsshfs=ssh transfer=transfer ws=ws.")
    List<String> maps = new ArrayList<>();

    @Option(names = "--pinned-map", paramLabel = "FILE", description = "The map of pinned ports (gateway port to a "
        + "VM's address) that the config names; kept up to date for a restarted HAProxy. Default: "
        + "/var/lib/planetary-haproxy/pinned.map.")
    Path pinnedMap = Path.of("/var/lib/planetary-haproxy/pinned.map");

    @Option(names = "--resync-interval", paramLabel = "MS", description = "A pass at least this often (retries, "
        + "restart detection), in ms. Default: 2000.")
    long resyncMillis = HaproxySync.Options.DEFAULT_RESYNC_INTERVAL.toMillis();

    @Option(names = "--print-config", description = "Write the haproxy.cfg this mode needs for Genesis' port plan "
        + "to stdout, create the empty pinned map if missing, and exit.")
    boolean printConfig;

    @Option(names = "--bind", paramLabel = "ADDR", description = "--print-config: the address the frontends bind. "
        + "Default: 127.0.0.1.")
    String bind = HaproxyConfig.DEFAULT_BIND;

    @Option(names = "--ws-port", paramLabel = "PORT", description = "--print-config: the ws entrance. Default: 32000.")
    int wsPort = HaproxyConfig.DEFAULT_WS_PORT;

    @Option(names = "--stats", paramLabel = "ADDR:PORT", description = "--print-config: the stats page. Default: "
        + "127.0.0.1:8404.")
    String stats = HaproxyConfig.DEFAULT_STATS;

    @Option(names = "--maxconn", paramLabel = "N", description = "--print-config: global maxconn. Default: 20000.")
    int maxconn = HaproxyConfig.DEFAULT_MAXCONN;

    @Option(names = {"-v", "--version"}, versionHelp = true, description = "Print the version and exit.")
    boolean version;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    private final PrintStream out;
    private final PrintStream err;

    SyncHaproxyMain(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    private static Map<String, String> defaultMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("pcpu", "pcpu");
        m.put("pfsshfs", "ssh");
        m.put("transfer", "transfer");
        m.put("ws", "ws");
        return java.util.Collections.unmodifiableMap(m);
    }

    public static void main(String[] args) {
        CommandLines.logToStderr();
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        return CommandLines.run(new SyncHaproxyMain(out, err), "sync-haproxy",
            "Usage: planetary sync-haproxy --genesis URL --socket PATH [--map BACKEND=SERVICE ...] "
            + "[--print-config] (see --help)", args, out, err);
    }

    @Override
    public Integer call() {
        List<URI> urls = new ArrayList<>();
        Map<String, String> backends;
        try {
            for (String g : genesis) {
                try {
                    urls.add(new URI(g));
                } catch (URISyntaxException e) {
                    throw new IllegalArgumentException("option --genesis: '" + g + "' is not a URL: " + e.getReason());
                }
            }
            backends = backends(maps);
            if (resyncMillis < 100 || resyncMillis > 600_000) {
                throw new IllegalArgumentException("option --resync-interval: " + resyncMillis
                    + " ms is not within 100..600000");
            }
            if (wsPort < 1 || wsPort > 65535) {
                throw new IllegalArgumentException("option --ws-port: " + wsPort + " is not within 1..65535");
            }
            if (maxconn < 1) {
                throw new IllegalArgumentException("option --maxconn: must be at least 1");
            }
        } catch (IllegalArgumentException e) {
            err.println("planetary sync-haproxy: " + e.getMessage());
            return 2;
        }
        return printConfig ? print(urls, backends) : follow(urls, backends);
    }

    static Map<String, String> backends(List<String> maps) {
        if (maps.isEmpty()) {
            return DEFAULT_MAP;
        }
        Map<String, String> m = new LinkedHashMap<>();
        for (String s : maps) {
            int eq = s.indexOf('=');
            String b = eq > 0 ? s.substring(0, eq) : "";
            String svc = eq > 0 ? s.substring(eq + 1) : "";
            if (!BACKEND.matcher(b).matches() || !SERVICE.matcher(svc).matches()) {
                throw new IllegalArgumentException("option --map: '" + s + "' must be BACKEND=SERVICE (a HAProxy "
                    + "backend name, a Genesis service name [a-z][a-z0-9_-]{0,31})");
            }
            if (m.put(b, svc) != null) {
                throw new IllegalArgumentException("option --map: backend '" + b + "' given twice");
            }
        }
        return m;
    }

    private int print(List<URI> urls, Map<String, String> backends) {
        AtomicReference<PortPlanInfo> plan = new AtomicReference<>();
        CountDownLatch got = new CountDownLatch(1);
        try (SwarmWatch w = SwarmWatch.start(urls, new SwarmListener() {
            @Override
            public void onView(SwarmView view) {
                view.portPlan().ifPresent(p -> {
                    plan.set(p);
                    got.countDown();
                });
            }
        }, WatchOptions.defaults())) {
            if (!got.await(PLAN_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                err.println("planetary sync-haproxy: no port plan from Genesis at " + urls + " within "
                    + PLAN_WAIT.toSeconds() + " s (is it running, and does it serve /api/ports/plan?)");
                return 1;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
        out.print(HaproxyConfig.render(plan.get(), new HaproxyConfig.Settings(backends, bind, wsPort, stats,
            socket.toAbsolutePath(), pinnedMap.toAbsolutePath(), maxconn)));
        out.flush();
        try {
            Path parent = pinnedMap.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.createFile(pinnedMap); // HAProxy refuses to start when a map file is missing
        } catch (FileAlreadyExistsException ok) {
            // kept: it holds the last pins
        } catch (IOException e) {
            err.println("planetary sync-haproxy: cannot create the pinned map " + pinnedMap + " (HAProxy needs it "
                + "to start; create it empty): " + e.getMessage());
            return 1;
        }
        return 0;
    }

    private int follow(List<URI> urls, Map<String, String> backends) {
        CountDownLatch stop = new CountDownLatch(1);
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), s -> stop.countDown());
        }
        HaproxySync sync = HaproxySync.start(new HaproxySync.Options(socket, backends, pinnedMap.toAbsolutePath(),
            HaproxySync.Options.DEFAULT_COMMAND_TIMEOUT, Duration.ofMillis(resyncMillis)));
        SwarmWatch watch = SwarmWatch.start(urls, sync, WatchOptions.defaults());
        try {
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // HAProxy keeps every server: stopping the companion changes nothing in the data path
        watch.close();
        sync.close();
        return 0;
    }
}
