package dev.planetary.proxy;

import org.slf4j.LoggerFactory;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Start-up runs in two stages that do not depend on each other: parsing the command line and the configuration
 * (ProxyArgs, the parser), and initialising logging and the native transport (slf4j, Netty's platform probing and JNI
 * library). The second stage runs on this thread while the main thread does the first, so the ports listen a few
 * hundred milliseconds sooner on a small machine. Class initialisation is thread-safe: if the main thread gets to a
 * class first, it simply initialises it itself (or waits for this thread to finish it).
 */
final class Warmup {

    /** Loaded and initialised in this order: what {@link Proxy#start} touches first comes first. */
    private static final String[] CLASSES = {
        "io.netty.util.internal.PlatformDependent",
        "io.netty.channel.epoll.Epoll",
        "io.netty.channel.unix.Socket",
        "io.netty.channel.epoll.EpollIoHandler",
        "io.netty.channel.MultiThreadIoEventLoopGroup",
        "io.netty.channel.epoll.EpollServerSocketChannel",
        "io.netty.channel.epoll.EpollSocketChannel",
        "io.netty.bootstrap.ServerBootstrap",
        "io.netty.channel.DefaultChannelPipeline",
        "io.netty.channel.DefaultChannelId",
        "io.netty.buffer.ByteBufAllocator",
    };

    /** A bound on the wait for logging: slf4j's set-up takes milliseconds; past this the main thread goes on. */
    static final long LOGGING_WAIT_SECONDS = 10;

    private static final CountDownLatch LOGGING = new CountDownLatch(1);
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
                return; // the main thread meets the same problem and reports it (Transport falls back to NIO)
            }
        }
    }
}
