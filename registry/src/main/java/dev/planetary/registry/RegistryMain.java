package dev.planetary.registry;

import dev.planetary.core.config.Durations;
import dev.planetary.core.ports.PortPlan;
import dev.planetary.registry.http.HttpLimits;
import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.etcd.EtcdEndpoints;
import dev.planetary.registry.etcd.EtcdTarget;
import dev.planetary.registry.store.Store;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code planetary registry}: runs Genesis. Exit codes: 0 after a clean stop (SIGTERM/SIGINT), 1 when it cannot start
 * or its data dir becomes unwritable (fail-stop: a supervisor restarts it from what is on disk), 2 for bad options.
 */
@Command(name = "planetary registry", sortOptions = false,
    description = "Genesis: the swarm's registry (registration, heartbeats, ports, peers, watch stream, dashboard).")
public final class RegistryMain implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(RegistryMain.class);
    /** Loopback by default: read endpoints and the dashboard are exposed only deliberately. */
    static final String DEFAULT_LISTEN = "127.0.0.1:9000";

    @Option(names = "--listen", paramLabel = "ADDR:PORT", description = "API, watch stream and dashboard (default "
        + DEFAULT_LISTEN + ").")
    String listen = DEFAULT_LISTEN;

    @Option(names = "--vm-listen", paramLabel = "ADDR:PORT", description = "Optional second listener serving only "
        + "register (join token), heartbeat and leave (the VM's secret), e.g. on the VMs' network, keeping reads on "
        + "loopback.")
    String vmListen;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "Where the state lives (default genesis-data).")
    Path dataDir = Path.of("genesis-data");

    @Option(names = "--heartbeat-interval", paramLabel = "TIME", description = "Default 5s.")
    String heartbeat = "5s";

    @Option(names = "--ttl", paramLabel = "TIME", description = "A VM silent this long expires. Default 15s.")
    String ttl = "15s";

    @Option(names = "--drain-period", paramLabel = "TIME", description = "A leaving VM is draining this long, then "
        + "removed. Default 10s.")
    String drain = "10s";

    @Option(names = "--grace", paramLabel = "TIME", description = "A removed VM's ports stay reserved this long. "
        + "Default 60s.")
    String grace = "60s";

    @Option(names = "--port-plan", paramLabel = "KIND=LOW-HIGH,...", description = "The gateway ports: one range per "
        + "kind (pcpu, pfsshfs, transfer), its first port the balanced entrance; the smallest range caps the VMs. "
        + "Default " + PortPlan.DEFAULT_SPEC + " (1,999 VMs).")
    String portPlan = PortPlan.DEFAULT_SPEC;

    @Option(names = "--store", paramLabel = "local|etcd", description = "Where the state lives: local (the data "
        + "dir's write-ahead log, one Genesis; the default) or etcd (several Genesis instances on one etcd cluster, "
        + "see README 'Genesis on etcd'; the data dir then holds only the join token).")
    String store = STORE_LOCAL;

    @Option(names = EtcdEndpoints.OPTION, paramLabel = "URL[,URL...]", description = "The etcd cluster's client URLs "
        + "(with --store etcd), e.g. http://127.0.0.1:2379.")
    String etcd;

    @Option(names = Store.REPAIR_OPTION, description = "Drop a damaged last record of the log (with a warning) "
        + "instead of refusing to start; the change it held is lost.")
    boolean repairLog;

    @Option(names = "--request-timeout", paramLabel = "TIME", description = "A request's headers and body must "
        + "arrive within this time of its first byte (the first request: of the connect), or the connection is "
        + "closed. Default 10s.")
    String requestTimeout = "10s";

    @Option(names = "--idle-timeout", paramLabel = "TIME", description = "A keep-alive connection idle this long "
        + "between requests is closed (watch streams exempt). Default 60s.")
    String idleTimeout = "60s";

    @Option(names = "--max-connections", paramLabel = "N", description = "Open connections at most, all listeners "
        + "together; more are answered 503 and closed. Default " + HttpLimits.DEFAULT_MAX_CONNECTIONS + ".")
    int maxConnections = HttpLimits.DEFAULT_MAX_CONNECTIONS;

    @Option(names = "--max-connections-per-source", paramLabel = "N", description = "Open connections at most from "
        + "one source address (raise it for many VMs behind one NAT address). Default "
        + HttpLimits.DEFAULT_MAX_CONNECTIONS_PER_SOURCE + ".")
    int maxConnectionsPerSource = HttpLimits.DEFAULT_MAX_CONNECTIONS_PER_SOURCE;

    @Option(names = "--allow-declared-ip", description = "Accept a registered ip other than the request's source "
        + "address (NAT set-ups).")
    boolean allowDeclaredIp;

    @Option(names = {"-v", "--version"}, description = "Print the version and exit.")
    boolean version;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    /** The write-ahead log in the data dir: the default, one Genesis per data dir. */
    static final String STORE_LOCAL = "local";
    static final String STORE_ETCD = "etcd";

    private final PrintStream out;
    private final PrintStream err;
    private final String envToken;

    RegistryMain(PrintStream out, PrintStream err, String envToken) {
        this.out = out;
        this.err = err;
        this.envToken = envToken;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err, System.getenv(Token.ENV)));
    }

    static int run(String[] args, PrintStream out, PrintStream err, String envToken) {
        CommandLine cl = new CommandLine(new RegistryMain(out, err, envToken));
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("planetary registry: " + ex.getMessage());
            err.println("Usage: planetary registry [--listen ADDR:PORT] [--data-dir DIR] [--heartbeat-interval T] "
                + "[--ttl T] ... (see --help)");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, p) -> {
            err.println("planetary registry: " + ex);
            return 1;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() {
        if (version) {
            out.println("Planetary Genesis registry 0.1.0 (Java " + Runtime.version() + ")");
            return 0;
        }
        Genesis.Options options;
        try {
            Settings settings = new Settings(duration("--heartbeat-interval", heartbeat), duration("--ttl", ttl),
                duration("--drain-period", drain), duration("--grace", grace));
            HttpLimits limits = new HttpLimits(duration("--request-timeout", requestTimeout),
                duration("--idle-timeout", idleTimeout), maxConnections, maxConnectionsPerSource,
                HttpLimits.DEFAULT_WATCH_MAX_QUEUED_BYTES);
            options = new Genesis.Options(address("--listen", listen),
                vmListen == null ? null : address("--vm-listen", vmListen), dataDir.toAbsolutePath(), settings,
                allowDeclaredIp, "", plan(portPlan), repairLog, limits);
        } catch (IllegalArgumentException e) {
            err.println("planetary registry: " + e.getMessage());
            return 2;
        }
        String refused = storeRefusal(store, etcd);
        if (refused != null) {
            err.println("planetary registry: " + refused);
            return 2;
        }
        Genesis genesis;
        CountDownLatch stopped = new CountDownLatch(1);
        int[] code = {0};
        try {
            Token.Resolved token;
            // the data dir must exist (mode 0700) before the token is stored in it
            Store.createDir(options.dataDir());
            token = Token.resolve(envToken, options.dataDir());
            options = new Genesis.Options(options.listen(), options.vmListen(), options.dataDir(), options.settings(),
                options.allowDeclaredIp(), token.token(), options.plan(), options.repairLog(), options.limits(),
                STORE_ETCD.equals(store) ? new EtcdTarget(EtcdEndpoints.parse(etcd)) : null);
            genesis = Genesis.start(options, Clock.system(), new SecureRandom(), why -> {
                code[0] = 1;
                stopped.countDown();
            });
            if (token.generated()) {
                out.println("GENESIS_TOKEN=" + token.token());
                out.println("(generated at first start and stored in " + token.source()
                    + " with mode 0600; it is not printed again)");
                out.flush();
            } else {
                LOG.info("join token from {}", token.source());
            }
        } catch (IOException | RuntimeException e) {
            err.println("planetary registry: cannot start: " + e.getMessage());
            return 1;
        }
        for (String name : new String[] {"TERM", "INT", "USR1"}) { // USR1: HAProxy's soft stop
            Signal.handle(new Signal(name), s -> stopped.countDown());
        }
        // Unhandled, SIGHUP ends the JVM (exit 129) and SIGUSR2 crashes it, unless _JAVA_SR_SIGNUM moved the JVM's own
        // use of SIGUSR2 elsewhere (bin/planetary and the systemd unit do: only then may Java take it). Genesis has
        // nothing to reload: both are logged and ignored.
        String sr = System.getenv("_JAVA_SR_SIGNUM");
        int sig = sr != null && sr.trim().matches("\\d{1,2}") ? Integer.parseInt(sr.trim()) : 0;
        boolean usr2Free = sig > 11 && sig < 65 && sig != 12; // HotSpot's range (above SIGSEGV, below NSIG)
        for (String name : usr2Free ? new String[] {"HUP", "USR2"} : new String[] {"HUP"}) {
            Signal.handle(new Signal(name), s -> LOG.info("SIG{} ignored: Genesis has nothing to reload (restart it to"
                + " change its options)", s.getName()));
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("stopping");
        genesis.close();
        LOG.info("stopped");
        return code[0];
    }

    /** Null when the store options can start; else why not. */
    static String storeRefusal(String store, String etcd) {
        if (STORE_LOCAL.equals(store)) {
            return etcd == null ? null : "option " + EtcdEndpoints.OPTION + " needs --store etcd";
        }
        if (!STORE_ETCD.equals(store)) {
            return "option --store: '" + store + "' must be local or etcd";
        }
        try {
            EtcdEndpoints.parse(etcd);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        return null;
    }

    private static PortPlan plan(String text) {
        try {
            return PortPlan.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("option --port-plan: " + e.getMessage());
        }
    }

    private static Duration duration(String option, String text) {
        try {
            return Duration.ofMillis(Durations.parseMillis(text));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("option " + option + ": '" + text + "' is not a time (e.g. 500ms, 5s, "
                + "2m): " + e.getMessage());
        }
    }

    static InetSocketAddress address(String option, String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new IllegalArgumentException("option " + option + ": '" + text + "' must be ADDR:PORT, e.g. "
                + "127.0.0.1:9000");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("option " + option + ": port '" + text.substring(colon + 1)
                + "' must be 0..65535");
        }
        if (!host.matches("[0-9.]+|[0-9A-Fa-f:]+|\\*|0\\.0\\.0\\.0")) {
            throw new IllegalArgumentException("option " + option + ": '" + host + "' must be an IP address literal");
        }
        return "*".equals(host) ? new InetSocketAddress(port) : new InetSocketAddress(host, port);
    }
}
