package dev.planetary.proxy;

import dev.planetary.core.config.BackendConfig;
import dev.planetary.core.config.Bind;
import dev.planetary.core.config.FrontendConfig;
import dev.planetary.core.config.ProxyConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.unix.UnixChannelOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The running proxy: event loops, listeners for every port of every bind line, backends and health checks.
 * {@link #start} either returns a proxy that accepts on every port, or throws {@link StartException} having
 * released everything it took.
 */
public final class Proxy implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Proxy.class);

    /** Longest wait for all listeners to bind; 22,002 binds take about 2 s on a small machine. */
    private static final long BIND_WAIT_MS = 120_000;

    private final ProxyConfig config;
    private final Transport transport;
    private final int threads;
    private final int maxconn;
    private final EventLoopGroup group;
    private final HealthChecker health;
    private final ConnectionLimit global;
    private final AcceptGate gate = new AcceptGate();
    private final AtomicInteger parkedTotal = new AtomicInteger();
    private final LongAdder acceptErrors = new LongAdder();
    private final AtomicLong lastAcceptErrorLog = new AtomicLong(System.nanoTime() - TimeUnit.MINUTES.toNanos(1));
    private final Map<String, ProxyBackend> backends = new LinkedHashMap<>();
    private final Map<String, Frontend> frontends = new LinkedHashMap<>();
    private final List<Channel> listeners = new ArrayList<>();

    private Proxy(ProxyConfig config, Transport transport, int threads, int maxconn) {
        this.config = config;
        this.transport = transport;
        this.threads = threads;
        this.maxconn = maxconn;
        this.global = new ConnectionLimit("global", maxconn, parkedTotal, gate::reconcile);
        gate.global(global);
        this.group = transport.newGroup(threads, "planetary-io");
        this.health = new HealthChecker(transport);
    }

    /** Backends (a consistent-hash table takes a few hundred ms to build) and the frontends that use them. */
    private void buildBackends() {
        for (BackendConfig bc : config.backends()) {
            backends.put(bc.name(), new ProxyBackend(bc));
        }
        for (FrontendConfig fc : config.frontends()) {
            frontends.put(fc.name(), new Frontend(fc, backends.get(fc.defaultBackend()), global, parkedTotal, gate));
        }
    }

    /** Starts the proxy described by a validated config. */
    public static Proxy start(ProxyConfig config) throws StartException {
        int threads = config.global().nbthread() > 0 ? config.global().nbthread()
            : Runtime.getRuntime().availableProcessors();
        Transport transport = Transport.best();
        int ports = config.listenerCount();
        int listeners = socketsFor(config, threads, transport);
        long limit = FdBudget.limit();
        int maxconn = config.global().maxconn();
        if (maxconn == 0 && limit > 0) {
            maxconn = FdBudget.derivedMaxconn(listeners, limit);
        }
        if (limit > 0 && (maxconn < 1 || FdBudget.needed(listeners, maxconn) > limit)) {
            throw new StartException(FdBudget.refusal(ports, listeners, Math.max(1, maxconn), limit));
        }
        long t0 = System.nanoTime();
        Proxy proxy = new Proxy(config, transport, threads, maxconn);
        try {
            // Listeners are bound (and so already complete handshakes into their backlog) while this thread
            // builds the backends; they start accepting once both are done.
            Binds binds = proxy.startBinds();
            proxy.buildBackends();
            proxy.awaitBinds(binds);
        } catch (StartException | RuntimeException e) {
            proxy.close();
            throw e;
        }
        for (ProxyBackend b : proxy.backends.values()) {
            b.attachHealth(proxy.health);
        }
        LOG.info("Planetary started: {} listening ports ({} sockets) on {} frontends, {} {} event loops,"
                + " global maxconn {}, in {} ms", ports, listeners, proxy.frontends.size(), threads,
            transport.name().toLowerCase(), maxconn,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        return proxy;
    }

    /**
     * A frontend with at most this many ports gets one listening socket per port per event loop (SO_REUSEPORT, as
     * HAProxy and Envoy do), so that one busy port is accepted on every core; a larger range gets one socket per
     * port, spread over the loops, because doubling 22,000 listeners is not worth it when load spreads over ports.
     */
    static final int REUSEPORT_MAX_PORTS = 64;

    /** Listening sockets a config opens with this many event loops and this transport. */
    static int socketsFor(ProxyConfig config, int threads, Transport transport) {
        int sockets = 0;
        for (FrontendConfig fc : config.frontends()) {
            sockets += reusePort(fc, transport) ? fc.portCount() * threads : fc.portCount();
        }
        return sockets;
    }

    private static boolean reusePort(FrontendConfig fc, Transport transport) {
        return transport.nativeLinux() && fc.portCount() <= REUSEPORT_MAX_PORTS;
    }

    /** Binds in flight: each future with the frontend name and a label for error messages. */
    private record Binds(List<ChannelFuture> pending, List<String> frontend, List<String> where) { }

    private Binds startBinds() {
        // Every listener accepts onto its own event loop: an accepted connection is set up (or refused at a limit)
        // inline, before the next accept, with no hop between threads and no pile-up of accepted descriptors.
        List<EventLoop> loops = new ArrayList<>();
        group.forEach(e -> loops.add((EventLoop) e));
        int sockets = socketsFor(config, threads, transport);
        Binds binds = new Binds(new ArrayList<>(sockets), new ArrayList<>(sockets), new ArrayList<>(sockets));
        int next = 0;
        for (FrontendConfig fc : config.frontends()) {
            boolean reusePort = reusePort(fc, transport);
            ServerBootstrap base = new ServerBootstrap()
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.AUTO_READ, false) // the AcceptGate opens them
                .handler(listenerHandler)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, Session.WATER_MARK)
                .childHandler(initializer(fc.name()));
            if (reusePort) {
                base.option(UnixChannelOption.SO_REUSEPORT, true);
            }
            List<ServerBootstrap> perLoop = new ArrayList<>(loops.size());
            for (EventLoop loop : loops) {
                perLoop.add(base.clone().group(loop, loop));
            }
            for (Bind bind : fc.binds()) {
                for (int port = bind.lowPort(); port <= bind.highPort(); port++) {
                    InetSocketAddress addr = bind.host() == null ? new InetSocketAddress(port)
                        : new InetSocketAddress(bind.host(), port);
                    String label = fc.name() + " " + bind.origin() + " " + (bind.host() == null ? "*" : bind.host())
                        + ":" + port;
                    int copies = reusePort ? perLoop.size() : 1;
                    for (int c = 0; c < copies; c++) {
                        ServerBootstrap sb = reusePort ? perLoop.get(c) : perLoop.get(next++ % perLoop.size());
                        binds.pending().add(sb.bind(addr));
                        binds.frontend().add(fc.name());
                        binds.where().add(label);
                    }
                }
            }
        }
        return binds;
    }

    private void awaitBinds(Binds binds) throws StartException {
        List<ChannelFuture> pending = binds.pending();
        List<String> where = binds.where();
        List<String> failures = new ArrayList<>();
        java.util.Set<String> failed = new java.util.HashSet<>();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(BIND_WAIT_MS);
        for (int i = 0; i < pending.size(); i++) {
            ChannelFuture f = pending.get(i);
            long left = deadline - System.nanoTime();
            if (!f.awaitUninterruptibly(Math.max(0, left), TimeUnit.NANOSECONDS)) {
                if (failed.add(where.get(i))) {
                    failures.add("timed out binding " + where.get(i));
                }
                continue;
            }
            if (f.isSuccess()) {
                Channel ch = f.channel();
                listeners.add(ch);
                gate.add(ch, frontends.get(binds.frontend().get(i)));
            } else if (failed.add(where.get(i))) {
                failures.add("cannot bind " + where.get(i) + ": " + rootMessage(f.cause()));
            }
        }
        gate.reconcile(); // open the listeners
        if (!failures.isEmpty()) {
            StringBuilder sb = new StringBuilder("could not open ").append(failures.size())
                .append(" of ").append(config.listenerCount()).append(" listening ports:");
            failures.stream().limit(10).forEach(m -> sb.append(System.lineSeparator()).append("  ").append(m));
            if (failures.size() > 10) {
                sb.append(System.lineSeparator()).append("  ... and ").append(failures.size() - 10).append(" more");
            }
            throw new StartException(sb.toString());
        }
    }

    /** On every listener: an accept() that failed (EMFILE, ENFILE, ENOBUFS) rests that listener, logged sparingly. */
    private final ChannelHandler listenerHandler = new ChannelInboundHandlerAdapter() {
        @Override
        public boolean isSharable() {
            return true;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            acceptErrors.increment();
            gate.rest(ctx.channel());
            long now = System.nanoTime();
            long last = lastAcceptErrorLog.get();
            if (now - last > TimeUnit.SECONDS.toNanos(10) && lastAcceptErrorLog.compareAndSet(last, now)) {
                LOG.warn("accept failed ({} times so far): {}; listeners that fail rest {} ms", acceptErrors.sum(),
                    rootMessage(cause), AcceptGate.REST_MS);
            }
        }
    };

    private ChannelHandler initializer(String frontendName) {
        return new ChannelInitializer<Channel>() {
            private Frontend fe; // resolved at the first connection: listeners open only once frontends exist

            @Override
            protected void initChannel(Channel ch) {
                Frontend f = fe;
                if (f == null) {
                    f = frontends.get(frontendName);
                    fe = f;
                }
                ch.pipeline().addLast(new Session(Proxy.this, f, ch).clientHandler());
            }
        };
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        String m = c.getMessage();
        return m == null ? c.getClass().getSimpleName() : m;
    }

    Transport transport() { return transport; }
    HealthChecker health() { return health; }

    public ProxyConfig config() { return config; }
    public int threads() { return threads; }
    public int maxconn() { return maxconn; }
    /** Ports listened on (a port with one socket per event loop counts once). */
    public int listenerCount() { return (int) listeners.stream().map(Channel::localAddress).distinct().count(); }
    /** Listening sockets open. */
    public int socketCount() { return listeners.size(); }
    public int activeConnections() { return global.count(); }
    /** accept() calls that failed (out of descriptors and the like). */
    public long acceptErrorCount() { return acceptErrors.sum(); }
    public Collection<ProxyBackend> backends() { return backends.values(); }
    public Collection<Frontend> frontends() { return frontends.values(); }

    /** The runtime handle of a backend, for run-time changes; null if there is none of that name. */
    public ProxyBackend backend(String name) { return backends.get(name); }

    public Frontend frontend(String name) { return frontends.get(name); }

    /** Stops accepting on every port (live connections go on). */
    public void stopAccepting() {
        List<ChannelFuture> closing = new ArrayList<>(listeners.size());
        for (Channel l : listeners) {
            closing.add(l.close());
        }
        for (ChannelFuture f : closing) {
            f.awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
    }

    /**
     * Graceful stop: stop accepting, let live connections finish for up to {@code hardStopAfterMs} (0: wait for
     * them however long they take), then close whatever is left and release the event loops.
     *
     * @return the number of connections that were still open and got closed
     */
    public int stop(long hardStopAfterMs) {
        stopAccepting();
        long deadline = hardStopAfterMs > 0 ? System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(hardStopAfterMs)
            : Long.MAX_VALUE;
        while (activeConnections() > 0 && System.nanoTime() - deadline < 0) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int left = activeConnections();
        close();
        return left;
    }

    /** Closes everything at once: listeners, live connections, health checks, event loops. */
    @Override
    public void close() {
        health.close();
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(30, TimeUnit.SECONDS);
    }
}
