package dev.planetary.proxy;

import dev.planetary.proxy.stats.Counters;
import dev.planetary.proxy.stats.FreqCounter;
import dev.planetary.proxy.stats.SlidingAverage;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Start-up runs in two stages that do not depend on each other: parsing the command line and the configuration
 * (ProxyArgs, the parser), and initialising logging and the native transport (slf4j, Netty's platform probing and JNI
 * library). The second stage runs on this thread while the main thread does the first, so the ports listen a few
 * hundred milliseconds sooner on a small machine. Class initialisation is thread-safe: if the main thread gets to a
 * class first, it simply initialises it itself (or waits for this thread to finish it).
 *
 * <p>Once the listeners are open ({@link #listening}), this thread then runs the per-connection counting code
 * ({@link Counters}, {@link FreqCounter}, {@link SlidingAverage}) on a scratch slot, so that the JIT has compiled it
 * before the first seconds of traffic instead of the event loops interpreting it (issue 15: new connections right
 * after start). After the listeners rather than at once: start-up is the other figure of that issue, and on a small
 * machine this would take a core from the binds. The scratch slot is no entity's: no counter a reader sums changes.
 */
final class Warmup {

    /** Loaded and initialised in this order: what {@link Proxy#start} touches first comes first. */
    private static final String[] CLASSES = {
        "io.netty.util.internal.PlatformDependent",
        "io.netty.channel.epoll.Epoll",
        "io.netty.channel.unix.Socket",
        "io.netty.channel.epoll.EpollIoHandler",
        "io.netty.channel.MultiThreadIoEventLoopGroup",
        "dev.planetary.proxy.RelayListener",
        "dev.planetary.proxy.RelayChannel",
        "dev.planetary.proxy.RelayChannelConfig", // reads the kernel's default send buffer once
        "io.netty.bootstrap.ServerBootstrap",
        "io.netty.channel.DefaultChannelPipeline",
        "io.netty.channel.DefaultChannelId",
        "io.netty.buffer.ByteBufAllocator",
    };

    /** A bound on the wait for logging: slf4j's set-up takes milliseconds; past this the main thread goes on. */
    static final long LOGGING_WAIT_SECONDS = 10;

    /**
     * Rounds of the counting code: past the JIT's thresholds for a C2 compilation of each method (5,000 calls and
     * a profile) with room to spare, and a few milliseconds of one core once compiled.
     */
    static final int COUNTER_ROUNDS = 20_000;
    /** A bound on the counting warm-up, should it run interpreted on a starved machine: it stops there, done or not. */
    static final long COUNTER_WARMUP_MAX_MS = 2_000;
    /**
     * A bound on the wait for the listeners: binding 22,000 ports takes seconds; a failed start ends the process (this
     * thread is a daemon), so the bound only matters for a start slower than this, which then goes unwarmed.
     */
    static final long LISTENING_WAIT_SECONDS = 300;
    /** Nanoseconds between two scratch events: a new second every thousand rounds, as a rate counter sees them. */
    private static final long SCRATCH_STEP_NANOS = 1_000_000;

    private static final CountDownLatch LOGGING = new CountDownLatch(1);
    private static final CountDownLatch LISTENING = new CountDownLatch(1);
    private static final CountDownLatch COUNTERS_WARM = new CountDownLatch(1);
    /** What the scratch slot summed to, kept so that no compiler can drop the work as unused. */
    static volatile long sink;
    private static volatile boolean started;

    private Warmup() {
    }

    static void start() {
        started = true;
        Thread t = new Thread(Warmup::run, "planetary-warmup");
        t.setDaemon(true);
        t.start();
    }

    /**
     * Waits until this thread has set up slf4j (at once when no warm-up runs). The main thread calls it before it
     * first logs: a logger asked for while slf4j is still initialising on another thread, after slf4j replayed its
     * substitutes, is a no-op for good (slf4j 2's post-initialisation substitute logger), so a start-up warning was
     * lost now and then (SignalsIT's SIGUSR2 warning, 1 in about 15 clean-clone runs).
     */
    static void awaitLogging() {
        if (!started) {
            return;
        }
        try {
            LOGGING.await(LOGGING_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The listeners are open ({@link Proxy#start}): this thread warms the counting code from now on. */
    static void listening() {
        LISTENING.countDown();
    }

    /** Waits until this thread has warmed the counting code (tests); false at the timeout. */
    static boolean awaitCountersWarm(long timeout, TimeUnit unit) throws InterruptedException {
        return COUNTERS_WARM.await(timeout, unit);
    }

    private static void run() {
        try {
            LoggerFactory.getLogger(Proxy.class);
        } finally {
            LOGGING.countDown();
        }
        ClassLoader loader = Warmup.class.getClassLoader();
        for (String name : CLASSES) {
            try {
                Class.forName(name, true, loader);
            } catch (ClassNotFoundException | LinkageError e) {
                break; // the main thread meets the same problem and reports it (Transport falls back to NIO)
            }
        }
        try {
            if (LISTENING.await(LISTENING_WAIT_SECONDS, TimeUnit.SECONDS)) {
                warmCounters(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(COUNTER_WARMUP_MAX_MS));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            COUNTERS_WARM.countDown();
        }
    }

    /**
     * Runs what a connection counts (accept, connect, bytes, times, end) on a scratch slot, {@link #COUNTER_ROUNDS}
     * times or until {@code deadlineNanos}; returns the rounds run. Touches no real counter: any thread.
     */
    static int warmCounters(long deadlineNanos) {
        long[] s = Counters.scratchSlot();
        int round = 0;
        while (round < COUNTER_ROUNDS && ((round & 1023) != 0 || System.nanoTime() - deadlineNanos < 0)) {
            long now = round * SCRATCH_STEP_NANOS;
            long v = round & 63;
            Counters.increment(s, Counters.STOT);
            FreqCounter.increment(s, now);
            Counters.increment(s, Counters.CONNECT);
            Counters.max(s, Counters.SMAX, v);
            Counters.set(s, Counters.LAST_SESS, now);
            Counters.add(s, Counters.CUR, 1);
            Counters.add(s, Counters.BIN, v);
            Counters.add(s, Counters.BOUT, v);
            Counters.increment(s, Counters.TIME_SAMPLES);
            SlidingAverage.add(s, Counters.CTIME, Counters.CTIME_MAX, v);
            SlidingAverage.add(s, Counters.QTIME, Counters.QTIME_MAX, 0);
            Counters.increment(s, Counters.TTIME_SAMPLES);
            SlidingAverage.add(s, Counters.TTIME, Counters.TTIME_MAX, v);
            Counters.add(s, Counters.CUR, -1);
            round++;
        }
        sink = s[Counters.STOT] + s[Counters.TTIME] + s[Counters.RATE_CUR];
        return round;
    }
}
