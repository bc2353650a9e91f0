package dev.planetary.proxy;

import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HAProxy's signals, where the JVM allows them. sun.misc.Signal is in jdk.unsupported, which stays exported.
 *
 * <ul>
 *   <li>SIGTERM, SIGINT, SIGUSR1: soft stop (stop accepting, let live connections finish up to hard-stop-after),
 *       run once, on a thread of its own. The process then exits 0, as HAProxy's master-worker mode does (a JVM
 *       shutdown hook would exit 143).</li>
 *   <li>SIGTERM or SIGINT again while that stop drains: stop now (HAProxy's hard stop). A second SIGUSR1 changes
 *       nothing, as in HAProxy.</li>
 *   <li>SIGHUP and SIGUSR2: reload. Without a handler SIGHUP ends a JVM (exit 129) and SIGUSR2 crashes it: HotSpot
 *       suspends and resumes threads with SIGUSR2 unless the environment variable {@code _JAVA_SR_SIGNUM} moves that
 *       to another signal, which bin/planetary and the systemd units do. Only then is SIGUSR2 taken here: a Java
 *       handler on the JVM's own signal would get its suspend requests (JFR's sampler sends hundreds a second).</li>
 * </ul>
 */
final class Signals {

    /** Logged when SIGHUP was ignored at start (nohup): it cannot reload then. */
    static final String IGNORED_HUP = "SIGHUP was ignored when this process started (nohup, or a parent that ignores"
        + " it) and stays ignored: SIGHUP and `bin/planetary reload` do nothing here; reload with SIGUSR2, or start"
        + " the proxy without nohup";

    /** Where the launcher moves HotSpot's suspend/resume signal: a real-time signal nothing else here uses. */
    static final int LAUNCHER_SR_SIGNUM = 39;
    /** The environment variable HotSpot reads its suspend/resume signal from (Linux). */
    static final String SR_SIGNUM_ENV = "_JAVA_SR_SIGNUM";
    /** SIGUSR2 on Linux: HotSpot's suspend/resume signal by default. */
    private static final int SIGUSR2 = 12;
    /** HotSpot accepts a value above SIGSEGV and SIGBUS and below NSIG; otherwise it keeps SIGUSR2. */
    private static final int SIGBUS = 7;
    private static final int SIGSEGV = 11;
    private static final int NSIG = 65;
    private static final Pattern LEADING_NUMBER = Pattern.compile("\\s*([+-]?\\d+)");

    private Signals() {
    }

    /**
     * @param drain run once, on a new thread, at the first SIGTERM, SIGINT or SIGUSR1
     * @param now   run once, on a new thread, at a SIGTERM or SIGINT that comes after the first stop signal
     */
    static void onStop(Runnable drain, Runnable now) {
        AtomicBoolean draining = new AtomicBoolean();
        AtomicBoolean stoppingNow = new AtomicBoolean();
        for (String name : new String[] {"TERM", "INT", "USR1"}) {
            boolean soft = name.equals("USR1");
            Signal.handle(new Signal(name), sig -> {
                if (draining.compareAndSet(false, true)) {
                    new Thread(drain, "planetary-stop").start();
                } else if (!soft && stoppingNow.compareAndSet(false, true)) {
                    new Thread(now, "planetary-stop-now").start();
                }
            });
        }
    }

    /**
     * Runs {@code reload} on each SIGHUP, and on each SIGUSR2 when the JVM leaves SIGUSR2 free (see the class
     * comment; otherwise a warning says how to free it).
     */
    static void onReload(Runnable reload) {
        if (Signal.handle(new Signal("HUP"), sig -> reload.run()) == SignalHandler.SIG_IGN) {
            // the JVM keeps a SIGHUP its parent ignored (nohup) ignored: say so rather than reload silently never
            LoggerFactory.getLogger(Signals.class).warn(IGNORED_HUP);
        }
        String sr = System.getenv(SR_SIGNUM_ENV);
        if (jvmLeavesSigusr2(sr)) {
            Signal.handle(new Signal("USR2"), sig -> reload.run());
        } else {
            LoggerFactory.getLogger(Signals.class).warn("SIGUSR2 is the JVM's own signal in this process and would"
                + " crash it: start with {}={} (as bin/planetary and the systemd unit do) to reload on SIGUSR2;"
                + " SIGHUP reloads either way", SR_SIGNUM_ENV, LAUNCHER_SR_SIGNUM);
        }
    }

    /** Whether HotSpot, given {@code _JAVA_SR_SIGNUM} (null when unset), uses a signal other than SIGUSR2. */
    static boolean jvmLeavesSigusr2(String srSignum) {
        if (srSignum == null) {
            return false;
        }
        // HotSpot reads it with strtol: leading blanks, then digits; anything else counts as 0 (SIGUSR2 stays).
        Matcher m = LEADING_NUMBER.matcher(srSignum);
        int sig;
        try {
            sig = m.lookingAt() ? Integer.parseInt(m.group(1)) : 0;
        } catch (NumberFormatException e) {
            return false; // too many digits: out of range
        }
        return sig > Math.max(SIGSEGV, SIGBUS) && sig < NSIG && sig != SIGUSR2;
    }
}
