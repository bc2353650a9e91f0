package dev.planetary.proxy;

import dev.planetary.core.config.ConfigParser;
import dev.planetary.core.config.ConfigResult;
import dev.planetary.proxy.reload.ListenerHandover;
import dev.planetary.proxy.reload.PidFile;
import dev.planetary.proxy.reload.ReloadTrigger;
import dev.planetary.proxy.reload.Reloader;
import dev.planetary.proxy.reload.SoftStop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code planetary proxy}: the command line follows haproxy's ({@code -f FILE} repeatable, {@code -c}, {@code -v}),
 * read by {@link ProxyArgs}. Exit codes, as haproxy's: 0 for a valid config or a clean stop, 1 for configuration
 * errors or a failed start.
 */
public final class ProxyMain {

    private final List<Path> files;
    private final boolean check;
    private final boolean version;
    private final Path pidFile;
    private final Path handoverSocket;
    private final Path takeFrom;
    private final List<Long> softStopPids;

    private final PrintStream out;
    private final PrintStream err;

    ProxyMain(PrintStream out, PrintStream err, ProxyArgs a) {
        this.out = out;
        this.err = err;
        this.files = a.files;
        this.check = a.check;
        this.version = a.version;
        this.pidFile = a.pidFile;
        this.handoverSocket = a.handoverSocket;
        this.takeFrom = a.takeFrom;
        this.softStopPids = a.softStopPids;
    }

    /** slf4j's own reporting level (its internal warnings, not the application's log). */
    private static final String SLF4J_VERBOSITY = "slf4j.internal.verbosity";
    static final String NETTY_LOW_MEMORY = "io.netty.allocator.lowMemory";

    public static void main(String[] args) {
        systemDefaults();
        Warmup.start();
        System.exit(run(args, System.out, System.err));
    }

    /**
     * System properties the proxy needs before any library reads them (so before {@link Warmup} loads Netty on its
     * own thread); a value given with {@code -D} is kept.
     */
    static void systemDefaults() {
        // Warmup initialises slf4j on its own thread while this one parses; slf4j then replays what both logged
        // meanwhile (delivered as usual) and warns on stderr that it did: noise for a user, not a fault
        if (System.getProperty(SLF4J_VERBOSITY) == null) {
            System.setProperty(SLF4J_VERBOSITY, "ERROR");
        }
        // Netty's adaptive allocator takes a heap of 512 MiB or less (the launcher's is 256) for a small machine and
        // then pools no buffer above 16.9 KiB: each bulk read (up to 64 KiB) got a direct chunk of its own, zeroed
        // and freed again (5.8% of the loop's CPU in bulk). Its buffers are direct memory, not heap: same-run A/B in
        // bench/RESULTS.md, bulk +9% pinned, CPU per GB -8%, RSS per idle connection no higher.
        if (System.getProperty(NETTY_LOW_MEMORY) == null) {
            System.setProperty(NETTY_LOW_MEMORY, "false");
        }
    }

    /** Runs the command; returns the process exit code. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        ProxyArgs a;
        try {
            a = ProxyArgs.parse(args);
        } catch (ProxyArgs.Invalid e) {
            err.println("[ALERT] " + e.getMessage());
            err.println(ProxyArgs.USAGE_LINE);
            return 1;
        }
        if (a.help) {
            out.print(ProxyArgs.HELP);
            out.flush();
            return 0;
        }
        return new ProxyMain(out, err, a).call();
    }

    int call() {
        if (version) {
            out.println(Version.line());
            return 0;
        }
        if (files == null || files.isEmpty()) {
            err.println("[ALERT] No configuration file given: use -f FILE (see -h).");
            return 1;
        }
        ConfigResult result = ConfigParser.parse(files);
        for (String w : result.warnings()) {
            err.println("[WARNING] config : " + w);
        }
        if (!result.ok()) {
            for (String e : result.errors()) {
                err.println("[ALERT] config : " + e);
            }
            err.println("[ALERT] config : Fatal errors found in configuration.");
            return 1;
        }
        if (check) {
            out.println("Configuration file is valid");
            return 0;
        }
        // Signals are taken before the start: a SIGTERM while 20,000 ports are being bound stops the proxy as soon
        // as it is up (exit 0), instead of killing the JVM with the default handler (exit 143).
        CountDownLatch stopRequested = new CountDownLatch(1);
        StopNow stopNow = new StopNow(Thread.currentThread());
        Warmup.awaitLogging(); // before the first logger of this thread (Signals warns): see Warmup
        Signals.onStop(stopRequested::countDown, stopNow::request);
        ReloadTrigger reloads = new ReloadTrigger();
        Signals.onReload(reloads::request); // a reload asked for while starting is applied once the proxy is up
        Map<String, List<Integer>> inherited = Map.of();
        if (takeFrom != null) {
            try {
                inherited = ListenerHandover.take(takeFrom, ListenerHandover.TAKE_TIMEOUT_MS);
            } catch (IOException e) {
                err.println("[WARNING] " + e.getMessage() + "; every port is bound fresh");
            }
        }
        Proxy proxy;
        try {
            proxy = Proxy.start(result.config(), Transport.best(), inherited);
        } catch (StartException e) {
            err.println("[ALERT] " + e.getMessage());
            return 1;
        } catch (RuntimeException | Error e) {
            err.println("[ALERT] could not start: " + e);
            return 1;
        }
        ListenerHandover handover = null;
        PidFile pid = null;
        try {
            if (handoverSocket != null) {
                handover = ListenerHandover.expose(handoverSocket, proxy::listeningDescriptors);
            }
            if (pidFile != null) {
                pid = PidFile.write(pidFile);
            }
        } catch (IOException e) {
            err.println("[ALERT] could not start: " + e.getMessage());
            if (handover != null) {
                handover.close();
            }
            proxy.close();
            return 1;
        }
        reloads.attach(new Reloader(files, proxy));
        if (softStopPids != null) {
            SoftStop.tell(softStopPids); // after every port listens here: the old ones may stop accepting now
        }
        try {
            stopRequested.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        reloads.close();
        if (handover != null) {
            handover.close(); // a stopping process hands nothing over
        }
        Logger log = LoggerFactory.getLogger(ProxyMain.class); // not a static: logging is set up by Warmup meanwhile
        long hard = proxy.config().global().hardStopAfterMs(); // as reloaded
        log.info("stopping: no new connections; {} live connections may finish{}", proxy.activeConnections(),
            hard > 0 ? " within " + hard + " ms" : "");
        int closed = stopNow.drain(() -> proxy.stop(hard));
        if (stopNow.requested()) {
            log.warn("stop now (second stop signal): closed {} connections", closed);
        } else if (closed > 0) {
            log.warn("hard-stop-after reached: closed {} connections", closed);
        }
        if (pid != null) {
            pid.removeIfOurs();
        }
        log.info("stopped");
        return 0; // a stop asked for, even "now", is a clean stop: HAProxy's master-worker mode exits 0 after it too
    }

    /**
     * A second SIGTERM/SIGINT during the drain: {@link Proxy#stop} ends its wait when its thread is interrupted and
     * then closes everything. The interrupt is only ever sent while that wait runs (never into the start-up), and a
     * request that comes before it makes the drain end at once.
     */
    private static final class StopNow {
        private final Thread stopper;
        private volatile boolean requested;
        private volatile boolean draining;

        StopNow(Thread stopper) {
            this.stopper = stopper;
        }

        void request() {
            requested = true;
            if (draining) {
                stopper.interrupt();
            }
        }

        boolean requested() {
            return requested;
        }

        /** Runs the drain on the stopper thread; returns what it returned. */
        int drain(java.util.function.IntSupplier stop) {
            draining = true;
            if (requested) {
                Thread.currentThread().interrupt(); // the request came before the drain began
            }
            try {
                return stop.getAsInt();
            } finally {
                draining = false;
                Thread.interrupted(); // clear a late interrupt: nothing after the drain waits on it
            }
        }
    }
}
