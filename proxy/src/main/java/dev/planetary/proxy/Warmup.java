package dev.planetary.proxy;

import org.slf4j.LoggerFactory;

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

    private Warmup() {
    }

    static void start() {
        Thread t = new Thread(Warmup::run, "planetary-warmup");
        t.setDaemon(true);
        t.start();
    }

    private static void run() {
        LoggerFactory.getLogger(Proxy.class);
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
