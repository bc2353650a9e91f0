package dev.planetary.proxy;

import dev.planetary.core.config.BackendConfig;
import dev.planetary.core.config.Bind;
import dev.planetary.core.config.ConfigDiff.Endpoint;
import dev.planetary.core.config.FrontendConfig;
import dev.planetary.core.config.ProxyConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.unix.Socket;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import java.io.IOException;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.unix.UnixChannelOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.planetary.proxy.log.ConnectionLog;
import dev.planetary.proxy.stats.ProxyStats;
import dev.planetary.proxy.stats.http.LatencyHistograms;
import dev.planetary.proxy.stats.http.ProxyStatsSource;
import dev.planetary.proxy.stats.http.StatsHttpServer;
import java.time.Clock;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
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

    /**
     * Longest wait for the event loops to take their counter indices at start: an empty task per fresh loop takes
     * milliseconds; past this the proxy starts anyway (a late loop only grows the tables it counts in, correctly).
     */
    private static final long LOOP_INDEX_WAIT_SECONDS = 10;

    private volatile ProxyConfig config; // replaced by a reload, as the maps below
    private final Transport transport;
    private final int threads;
    private volatile int maxconn;
    private final EventLoopGroup group;
    private final HealthChecker health;
    private final ControlAgent control = new ControlAgent(); // the one owner of every backend's server set
    private final ConnectionLimit global;
    private final AcceptGate gate = new AcceptGate();
    private final AtomicInteger parkedTotal = new AtomicInteger();
    private final LongAdder acceptErrors = new LongAdder();
    private final AtomicLong lastAcceptErrorLog = new AtomicLong(System.nanoTime() - TimeUnit.MINUTES.toNanos(1));
    // Published whole (one volatile write) at start and by each reload; read by the runtime API and the stats.
    private volatile Map<String, ProxyBackend> backends = Map.of();
    private volatile Map<String, Frontend> frontends = Map.of();
    /** Every listening address with its sockets and the frontend its new connections go to. */
    private final Map<Endpoint, Route> routes = new ConcurrentHashMap<>();
    private volatile Discoveries discoveries = Discoveries.NONE;
    private final ProxyStats stats;
    private volatile boolean stopping;
    /** planetary_ histograms per backend; the connection log and the stats pages when configured (else null). */
    private final LatencyHistograms histograms;
    /**
     * Whether anything can read the latency histograms: only a stats page's {@code /metrics} does (the runtime API and
     * the connection log do not). Fixed at start, as the stats pages are: an in-place reload neither opens nor closes
     * one ({@link InPlaceReload} has no step for them; a new page takes a new process, {@code -x ... -sf}, whose
     * frontends record from its start). Without a page, frontends get {@link LatencyHistograms#DISCARD}: recording
     * costs every connection two histogram updates that nobody would ever see.
     */
    private final boolean latencyRead;
    private ConnectionLog connectionLog;
    private StatsHttpServer statsHttp;
    /** The runtime API's sockets, or null when the config has no {@code stats socket}. */
    private volatile dev.planetary.proxy.stats.StatsSocket statsSocket;

    private Proxy(ProxyConfig config, Transport transport, int threads, int maxconn) {
        this.config = config;
        this.transport = transport;
        this.threads = threads;
        this.maxconn = maxconn;
        this.stats = new ProxyStats(sectionOrder(config), frontendNames(config), backendNames(config),
            ProxyStats.now(), System.currentTimeMillis() / 1000);
        this.latencyRead = !config.statsPages().isEmpty();
        this.histograms = new LatencyHistograms(latencyRead ? backendNames(config) : List.of());
        this.global = new ConnectionLimit("global", maxconn, parkedTotal, gate::reconcile);
        gate.global(global);
        this.group = transport.newGroup(threads, "planetary-io", config.global().loopPriority());
        indexLoops(group);
        this.health = new HealthChecker(transport);
    }

    /**
     * Every event loop takes its counter index before any traffic (review finding 1): a counter table is then made
     * once, at the size of all loops, instead of growing while loops take their indices at their first count.
     */
    private static void indexLoops(EventLoopGroup group) {
        List<Future<?>> indexed = new ArrayList<>();
        group.forEach(l -> indexed.add(l.submit(dev.planetary.proxy.stats.Counters::indexThisThread)));
        for (Future<?> f : indexed) {
            f.awaitUninterruptibly(LOOP_INDEX_WAIT_SECONDS, TimeUnit.SECONDS); // loops just started: milliseconds
        }
    }

    private static List<String> frontendNames(ProxyConfig config) {
        List<String> names = new ArrayList<>();
        config.frontends().forEach(f -> names.add(f.name()));
        return names;
    }

    private static List<String> backendNames(ProxyConfig config) {
        List<String> names = new ArrayList<>();
        config.backends().forEach(b -> names.add(b.name()));
        return names;
    }

    /** A reload's sections for the counters, before its new backends and frontends are built (they take theirs). */
    void reconfigureStats(ProxyConfig next) {
        stats.reconfigure(sectionOrder(next), frontendNames(next), backendNames(next), ProxyStats.now());
    }

    /** Frontend and backend names in the order their sections appear (files in the order read, then lines). */
    private static List<String> sectionOrder(ProxyConfig config) {
        record At(String name, String file, int line) { }
        List<At> all = new ArrayList<>();
        List<String> files = new ArrayList<>();
        for (FrontendConfig f : config.frontends()) {
            all.add(new At(f.name(), f.origin() == null ? "" : f.origin().file(),
                f.origin() == null ? 0 : f.origin().line()));
        }
        for (BackendConfig b : config.backends()) {
            all.add(new At(b.name(), b.origin() == null ? "" : b.origin().file(),
                b.origin() == null ? 0 : b.origin().line()));
        }
        for (At a : all) {
            if (!files.contains(a.file())) {
                files.add(a.file()); // frontends come first in the config model: a file's first sight is close enough
            }
        }
        all.sort(java.util.Comparator.comparingInt((At a) -> files.indexOf(a.file())).thenComparingInt(At::line));
        List<String> out = new ArrayList<>();
        all.forEach(a -> out.add(a.name()));
        return out;
    }

    /** Backends (a consistent-hash table takes a few hundred ms to build) and the frontends that use them. */
    private void buildBackends() {
        Map<String, ProxyBackend> bs = new LinkedHashMap<>();
        Map<String, Frontend> fs = new LinkedHashMap<>();
        for (BackendConfig bc : config.backends()) {
            bs.put(bc.name(), new ProxyBackend(bc, control, stats.backend(bc.name())));
        }
        for (FrontendConfig fc : config.frontends()) {
            fs.put(fc.name(), newFrontend(fc, bs.get(fc.defaultBackend())));
        }
        backends = java.util.Collections.unmodifiableMap(bs);
        frontends = java.util.Collections.unmodifiableMap(fs);
    }

    /**
     * A listening address: its sockets (one, or one per event loop with SO_REUSEPORT) and the frontend that its new
     * connections go to, which a reload may change (a port that moves to another frontend keeps its sockets).
     */
    static final class Route {
        final Endpoint endpoint;
        final List<Channel> sockets = new CopyOnWriteArrayList<>();
        volatile Frontend frontend;

        Route(Endpoint endpoint) {
            this.endpoint = endpoint;
        }
    }

    /** Starts the proxy described by a validated config. */
    public static Proxy start(ProxyConfig config) throws StartException {
        return start(config, Transport.best());
    }

    /** Starts the proxy on a chosen transport (tests run the data plane on epoll and on the NIO fallback). */
    public static Proxy start(ProxyConfig config, Transport transport) throws StartException {
        return start(config, transport, Map.of());
    }

    /**
     * Starts the proxy, adopting listening sockets an earlier process handed over (HAProxy's {@code -x}): a port of
     * the config whose address matches one of {@code inherited} (keys from {@link #endpointKey}) takes those sockets,
     * with the connections already waiting in them; other ports are bound fresh; inherited sockets that match no
     * port of the config are closed. Epoll only (other transports cannot adopt a descriptor: they bind fresh).
     */
    public static Proxy start(ProxyConfig config, Transport transport, Map<String, List<Integer>> inherited)
        throws StartException {
        int threads = config.global().nbthread() > 0 ? config.global().nbthread()
            : Runtime.getRuntime().availableProcessors();
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
        List<Listen> plan = listenPlan(config, threads, transport, e -> true);
        Map<String, List<Integer>> adopt = new java.util.HashMap<>();
        if (transport == Transport.EPOLL) {
            inherited.forEach((k, fds) -> adopt.put(k, new ArrayList<>(fds)));
            plan = withInherited(plan, adopt, threads);
        } else if (!inherited.isEmpty()) {
            LOG.warn("{} handed-over sockets not adopted: only the epoll transport can; binding fresh",
                inherited.values().stream().mapToInt(List::size).sum());
            inherited.values().forEach(fds -> fds.forEach(fd -> closeQuietly(new Socket(fd))));
        }
        // Epoll: every port listens before anything else is set up (the kernel completes handshakes into each
        // backlog from then on); the loops take the sockets over and accept once the backends exist.
        Future<?>[] listening = transport == Transport.EPOLL ? listenAll(plan) : null;
        adopt.values().forEach(fds -> fds.forEach(fd -> closeQuietly(new Socket(fd)))); // for no port of ours
        Proxy proxy;
        try {
            proxy = new Proxy(config, transport, threads, maxconn);
        } catch (RuntimeException e) {
            closeAll(listening);
            throw e;
        }
        try {
            // before the frontends exist: each frontend that logs takes it (a UDP target's socket is opened here)
            proxy.connectionLog = ConnectionLog.start(config.logs(), Clock.systemDefaultZone());
        } catch (IOException e) {
            closeAll(listening);
            proxy.close();
            throw new StartException("cannot open the connection log: " + rootMessage(e));
        }
        try {
            Binds binds = proxy.startBinds(config, plan, listening, proxy.routes);
            proxy.buildBackends();
            List<String> failures = proxy.awaitBinds(binds, proxy.routes, proxy.frontends, true);
            if (!failures.isEmpty()) {
                throw new StartException(bindFailures(failures, config.listenerCount()));
            }
            Warmup.listening(); // the listeners are open: the warm-up thread (if any) compiles the counting code
        } catch (StartException | RuntimeException e) {
            proxy.close();
            throw e;
        }
        for (ProxyBackend b : proxy.backends.values()) {
            b.attachHealth(proxy.health);
        }
        proxy.stats.start();
        if (!config.global().statsSockets().isEmpty()) {
            try {
                proxy.statsSocket = dev.planetary.proxy.stats.StatsSocket.open(proxy, config.global().statsSockets(),
                    config.global().statsTimeoutMs());
            } catch (java.io.IOException | RuntimeException e) {
                proxy.close();
                throw new StartException(e.getMessage());
            }
        }
        try {
            proxy.discoveries = Discoveries.start(proxy); // servers and pinned ports from Genesis, from now on
        } catch (RuntimeException e) {
            proxy.close();
            throw e;
        }
        if (!config.statsPages().isEmpty()) {
            try {
                proxy.statsHttp = StatsHttpServer.start(config.statsPages(), new ProxyStatsSource(proxy), transport,
                    Clock.systemUTC());
            } catch (IllegalStateException e) {
                proxy.close();
                throw new StartException(e.getMessage());
            }
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

    /**
     * One listening socket to open: its address, frontend, event loop, and whether it shares the port; {@code fd} is
     * a handed-over socket to adopt, or -1 to open one.
     */
    record Listen(InetSocketAddress addr, Endpoint endpoint, String frontend, Bind bind, int loop, boolean reusePort,
                  int fd) {
        /** For error messages only (built when one is needed: 22,000 of them cost tens of milliseconds). */
        String where() {
            return frontend + " " + bind.origin() + " " + (bind.host() == null ? "*" : bind.host()) + ":"
                + addr.getPort();
        }
    }

    /** Binds in flight: each future (of a registered listening channel) with its socket's plan. */
    record Binds(List<Listen> plan, Future<?>[] pending, List<Future<?>> batches) { }

    /** Every listening socket of the config for the addresses {@code include} takes, each assigned to an event loop. */
    static List<Listen> listenPlan(ProxyConfig config, int threads, Transport transport, Predicate<Endpoint> include) {
        List<Listen> plan = new ArrayList<>(socketsFor(config, threads, transport));
        int next = 0;
        for (FrontendConfig fc : config.frontends()) {
            boolean reusePort = reusePort(fc, transport);
            for (Bind bind : fc.binds()) {
                // resolve the host once per line, not once per port
                InetSocketAddress host = bind.host() == null ? null : new InetSocketAddress(bind.host(), 0);
                for (int port = bind.lowPort(); port <= bind.highPort(); port++) {
                    Endpoint endpoint = new Endpoint(bind.host(), port);
                    if (!include.test(endpoint)) {
                        continue;
                    }
                    InetSocketAddress addr = host == null ? new InetSocketAddress(port)
                        : host.isUnresolved() ? new InetSocketAddress(bind.host(), port) // fails to bind, and says so
                        : new InetSocketAddress(host.getAddress(), port);
                    if (reusePort) {
                        for (int c = 0; c < threads; c++) {
                            plan.add(new Listen(addr, endpoint, fc.name(), bind, c, true, -1));
                        }
                    } else {
                        plan.add(new Listen(addr, endpoint, fc.name(), bind, next++ % threads, false, -1));
                    }
                }
            }
        }
        return plan;
    }

    /**
     * The handed-over sockets (taken out of {@code inherited}) put into the plan: each socket of a port that was
     * handed over becomes the first sockets of that port, and more sockets than the plan has for it (the earlier
     * process had more event loops) are adopted too, spread over the loops: a socket not adopted would lose the
     * connections waiting in its own queue (SO_REUSEPORT gives each socket one) when the earlier process closes it.
     */
    private static List<Listen> withInherited(List<Listen> plan, Map<String, List<Integer>> inherited, int threads) {
        if (inherited.isEmpty()) {
            return plan;
        }
        List<Listen> out = new ArrayList<>(plan.size());
        Map<String, Listen> lastOfPort = new LinkedHashMap<>();
        for (Listen l : plan) {
            String key = endpointKey(l.addr());
            List<Integer> fds = inherited.get(key);
            if (fds != null && !fds.isEmpty()) {
                l = new Listen(l.addr(), l.endpoint(), l.frontend(), l.bind(), l.loop(), l.reusePort(), fds.remove(0));
            }
            out.add(l);
            lastOfPort.put(key, l);
        }
        int next = 0;
        for (Map.Entry<String, Listen> e : lastOfPort.entrySet()) {
            List<Integer> extra = inherited.get(e.getKey());
            while (extra != null && !extra.isEmpty()) {
                Listen l = e.getValue();
                out.add(new Listen(l.addr(), l.endpoint(), l.frontend(), l.bind(), next++ % threads, l.reusePort(),
                    extra.remove(0)));
            }
        }
        return out;
    }

    /**
     * An address as a handed-over socket and a planned one both name it: {@code *:PORT} for every address, else the
     * literal IP and port (an IPv4-mapped IPv6 address as IPv4).
     */
    public static String endpointKey(InetSocketAddress a) {
        java.net.InetAddress ip = a.getAddress();
        if (ip == null) {
            return a.getHostString() + ":" + a.getPort();
        }
        if (ip.isAnyLocalAddress()) {
            return "*:" + a.getPort();
        }
        if (ip instanceof java.net.Inet6Address v6) {
            byte[] b = v6.getAddress();
            boolean mapped = b[10] == (byte) 0xff && b[11] == (byte) 0xff;
            for (int i = 0; i < 10 && mapped; i++) {
                mapped = b[i] == 0;
            }
            if (mapped) {
                return NetUtil.bytesToIpAddress(java.util.Arrays.copyOfRange(b, 12, 16)) + ":" + a.getPort();
            }
        }
        return ip.getHostAddress() + ":" + a.getPort();
    }

    /**
     * Epoll: opens, binds and listens on every socket of the plan from this thread, in one pass of system calls.
     * Each entry is a succeeded future of the socket's descriptor, or a failed one with why it could not listen
     * (every socket opened is either in the result or closed again).
     *
     * <p>One thread, measured: two threads on this 2-core machine made the pass itself shorter but the start-up
     * figure longer (bench/RESULTS.md, issue 15, 2026-11-30 20:46): clients connecting while the ports open need the
     * other core.
     */
    static Future<?>[] listenAll(List<Listen> plan) {
        Future<?>[] out = new Future<?>[plan.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = listen(plan.get(i));
        }
        return out;
    }

    /** One socket of the plan: a future of its descriptor, or a failed one with why (never a throw). */
    private static Future<?> listen(Listen l) {
        if (l.fd() >= 0) { // handed over: already bound and listening, with its waiting connections
            return ImmediateEventExecutor.INSTANCE.newSucceededFuture(l.fd());
        }
        Socket socket = null;
        try {
            socket = Socket.newSocketStream(); // EMFILE here is a ChannelException: this port fails, the rest go on
            socket.setReuseAddress(true);
            if (l.reusePort()) {
                socket.setReusePort(true);
            }
            socket.bind(l.addr());
            socket.listen(NetUtil.SOMAXCONN);
            return ImmediateEventExecutor.INSTANCE.newSucceededFuture(socket.intValue());
        } catch (Throwable e) { // an Error too: the socket is closed, not left listening with nobody to accept
            if (socket != null) {
                closeQuietly(socket);
            }
            return ImmediateEventExecutor.INSTANCE.newFailedFuture(e);
        }
    }

    static void closeAll(Future<?>[] listening) {
        if (listening != null) {
            for (Future<?> f : listening) {
                if (f.isSuccess()) {
                    closeQuietly(new Socket((Integer) f.getNow()));
                }
            }
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // a socket that failed to open or is being abandoned at a failed start: nothing more to do
        }
    }

    /**
     * Hands the listening sockets to their event loops as one task per loop (registering from inside the loop is
     * inline: no wake-up per port); other transports bind there too. Returns at once: this thread goes on to build
     * the backends meanwhile.
     */
    Binds startBinds(ProxyConfig config, List<Listen> plan, Future<?>[] listening, Map<Endpoint, Route> into) {
        // Every listener accepts onto its own event loop: an accepted connection is set up (or refused at a limit)
        // inline, before the next accept, with no hop between threads and no pile-up of accepted descriptors.
        List<EventLoop> loops = new ArrayList<>();
        group.forEach(e -> loops.add((EventLoop) e));
        Map<String, ServerBootstrap> bases = new LinkedHashMap<>();
        for (FrontendConfig fc : config.frontends()) {
            ServerBootstrap base = new ServerBootstrap()
                .option(ChannelOption.AUTO_READ, false) // the AcceptGate opens them
                .handler(listenerHandler)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, Relay.WATER_MARK);
            if (listening == null) { // epoll sockets got these before bind, in listenAll
                base.option(ChannelOption.SO_REUSEADDR, true);
                if (reusePort(fc, transport)) {
                    base.option(UnixChannelOption.SO_REUSEPORT, true);
                }
            }
            bases.put(fc.name(), base);
        }
        Future<?>[] pending = new Future<?>[plan.size()];
        List<Future<?>> batches = new ArrayList<>(loops.size());
        for (int loop = 0; loop < loops.size(); loop++) {
            EventLoop el = loops.get(loop);
            int mine = loop;
            batches.add(el.submit(() -> {
                for (int i = 0; i < pending.length; i++) {
                    Listen l = plan.get(i);
                    if (l.loop() != mine) {
                        continue;
                    }
                    Route route = into.computeIfAbsent(l.endpoint(), Route::new);
                    ServerBootstrap sb = bases.get(l.frontend()).clone().group(el, el)
                        .childHandler(initializer(route, l.bind().acceptProxy()));
                    if (listening == null) {
                        pending[i] = sb.channel(transport.serverChannel()).bind(l.addr());
                    } else if (listening[i].isSuccess()) {
                        int fd = (Integer) listening[i].getNow();
                        pending[i] = sb.channelFactory(() -> new RelayListener(fd, l.addr())).register();
                    } else {
                        pending[i] = listening[i];
                    }
                }
            }));
        }
        return new Binds(plan, pending, batches);
    }

    /**
     * Waits for the binds; each socket that listens joins its address's {@link Route} in {@code into}, which points
     * at its frontend in {@code frontends}; with {@code open}, the gate then opens them. Returns why each address
     * that could not listen could not (empty: all listen).
     */
    List<String> awaitBinds(Binds binds, Map<Endpoint, Route> into, Map<String, Frontend> frontends, boolean open) {
        List<String> failures = new ArrayList<>();
        java.util.Set<String> failed = new java.util.HashSet<>();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(BIND_WAIT_MS);
        for (Future<?> batch : binds.batches()) {
            if (!batch.awaitUninterruptibly(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                failures.add("timed out handing listening sockets to the event loops");
            }
        }
        Future<?>[] pending = binds.pending();
        for (int i = 0; i < pending.length; i++) {
            Future<?> f = pending[i];
            Listen l = binds.plan().get(i);
            String where = l.where();
            if (f == null || !f.awaitUninterruptibly(Math.max(0, deadline - System.nanoTime()),
                TimeUnit.NANOSECONDS)) {
                if (failed.add(where)) {
                    failures.add("timed out binding " + where);
                }
                continue;
            }
            if (f.isSuccess()) {
                Channel ch = ((ChannelFuture) f).channel();
                Route route = into.computeIfAbsent(l.endpoint(), Route::new);
                route.frontend = frontends.get(l.frontend());
                route.sockets.add(ch);
                if (open) {
                    gate.add(ch, route.frontend);
                }
            } else if (failed.add(where)) {
                failures.add("cannot bind " + where + ": " + rootMessage(f.cause()));
            }
        }
        if (open) {
            gate.reconcile(); // open the listeners
        }
        return failures;
    }

    static String bindFailures(List<String> failures, int ports) {
        StringBuilder sb = new StringBuilder("could not open ").append(failures.size())
            .append(" of ").append(ports).append(" listening ports:");
        failures.stream().limit(10).forEach(m -> sb.append(System.lineSeparator()).append("  ").append(m));
        if (failures.size() > 10) {
            sb.append(System.lineSeparator()).append("  ... and ").append(failures.size() - 10).append(" more");
        }
        return sb.toString();
    }

    /** On every listener: an accept() that failed (EMFILE, ENFILE, ENOBUFS) rests that listener, logged sparingly. */
    private final ChannelHandler listenerHandler = new ChannelInboundHandlerAdapter() {
        @Override
        public boolean isSharable() {
            return true;
        }

        /**
         * An accepted channel, before the acceptor registers it: EPOLLERR and EPOLLIN join its EPOLL_CTL_ADD (no MOD
         * later): the relay reads the client's first bytes while the server side connects. Auto-read goes off here,
         * first: the acceptor's child option turning it off would also take EPOLLIN out (it already is off then, so
         * the option changes nothing).
         */
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Channel child) {
                child.config().setAutoRead(false);
                RelayChannel.keepReading(child);
            }
            ctx.fireChannelRead(msg);
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

    /**
     * The child handler of a bind: on the accepted channel's event loop, once it is registered, it starts the
     * connection's {@link Session} and gives its place in the pipeline to the session's handler.
     *
     * <p>Not a {@code ChannelInitializer}: that one guards against being run twice per channel with a
     * {@code ConcurrentHashMap} shared by every channel of the bind (an entry added and removed per connection, 32
     * bytes, and a CAS or a bin lock that the event loops sharing a port contend on). {@code handlerAdded} runs once
     * per channel by itself: Netty calls it when the channel registers, on its loop, and removing the handler there
     * is what {@code ChannelInitializer} does too.
     *
     * @param acceptProxy the bind has {@code accept-proxy}: the connection's PROXY header is read first
     */
    private ChannelHandler initializer(Route route, boolean acceptProxy) {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public boolean isSharable() {
                return true;
            }

            @Override
            public void handlerAdded(ChannelHandlerContext ctx) {
                Channel ch = ctx.channel();
                try {
                    // read per connection: a reload may give the port to another frontend (listeners open only
                    // once the route has one)
                    Frontend f = route.frontend;
                    Session session = new Session(Proxy.this, f, ch);
                    if (acceptProxy) {
                        new AcceptProxy(session, f).install(ctx.pipeline(), session.clientHandler());
                    } else {
                        // the one-handler overload: the varargs one makes an array per connection
                        ctx.pipeline().addLast(null, session.clientHandler());
                    }
                } catch (RuntimeException | Error e) {
                    // as ChannelInitializer does: a connection that cannot be set up is closed, not left open
                    LOG.warn("could not set up an accepted connection, closing it: {}", e.toString());
                    ch.close();
                } finally {
                    if (!ctx.isRemoved()) {
                        ctx.pipeline().remove(this);
                    }
                }
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

    /** Every counter of this proxy, for the stats socket, page and metrics. */
    public ProxyStats stats() { return stats; }
    public String version() { return Version.VERSION; }
    /** RLIMIT_NOFILE, or a negative number when unknown. */
    public long descriptorLimit() { return FdBudget.limit(); }
    /** The global maxconn now ({@code set maxconn global} lowers or raises it up to {@link #maxconn()}). */
    public int globalMaxconn() { return global.max(); }

    /** Sets the global maxconn, at most the one the proxy started with; live connections are not touched. */
    public void globalMaxconn(int max) {
        if (max < 1 || max > maxconn) {
            throw new IllegalArgumentException("maxconn must be 1.." + maxconn);
        }
        global.max(max);
    }

    /** The host name, as HAProxy's {@code node} (read once: it may take a name look-up). */
    public String nodeName() {
        String n = nodeName;
        if (n == null) {
            try {
                n = java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.io.IOException e) {
                n = "";
            }
            nodeName = n;
        }
        return n;
    }

    private volatile String nodeName;

    /** One line per live connection (runtime API {@code show sess}); asks every event loop. */
    public List<String> describeSessions() {
        return SessionList.describeAll(this);
    }

    /** Closes every live connection to this server (runtime API {@code shutdown sessions server}). */
    public int shutdownSessions(dev.planetary.core.backend.Server server) {
        return SessionList.shutdown(this, server);
    }

    /** Every genesis section followed, in config order. */
    public List<Discovery> discoveries() {
        List<Discovery> out = new ArrayList<>();
        for (dev.planetary.core.config.GenesisConfig g : config.genesis()) {
            Discovery d = discoveries.get(g.name());
            if (d != null) {
                out.add(d);
            }
        }
        return out;
    }

    /** True once a stop has begun. */
    public boolean stopping() { return stopping; }
    /** Ports of the config (without counting the listening sockets one by one). */
    public int listenerCountCheap() { return config.listenerCount(); }
    HealthChecker health() { return health; }

    // ---- reload (InPlaceReload) and hand-over ------------------------------------------------------------------

    /**
     * Applies a newly read, validated config in place ({@link InPlaceReload}): the connections that are open stay
     * open. One reload at a time.
     *
     * @return one line saying what changed
     * @throws InPlaceReload.Refused when the new config cannot be applied (a port cannot be bound, too few
     *                               descriptors): then nothing changed
     */
    public synchronized String reload(ProxyConfig next) throws InPlaceReload.Refused {
        return new InPlaceReload(this, next).apply();
    }

    Frontend newFrontend(FrontendConfig fc, ProxyBackend backend) {
        Frontend f = new Frontend(fc, backend, global, parkedTotal, gate, stats.frontend(fc.name()));
        attachObservers(f, fc);
        return f;
    }

    /**
     * The frontend's latency histograms (its default backend's, or none when no stats page reads them) and connection
     * log, at start and before each reload's {@link Frontend#reconfigure} (the log targets and the stats pages
     * themselves are the ones the process started with).
     */
    void attachObservers(Frontend f, FrontendConfig fc) {
        f.latency = latencyRead ? histograms.backendFor(fc.defaultBackend()) : LatencyHistograms.DISCARD;
        f.log = connectionLog != null && connectionLog.logs(fc.name()) ? connectionLog : null;
    }

    ControlAgent control() { return control; }
    AcceptGate gate() { return gate; }
    ConnectionLimit global() { return global; }
    Map<Endpoint, Route> routes() { return routes; }
    Discoveries followers() { return discoveries; }
    void followers(Discoveries d) { discoveries = d; }

    /** A reload's new state, each published whole. */
    void publish(ProxyConfig next, Map<String, ProxyBackend> bs, Map<String, Frontend> fs, int newMaxconn) {
        backends = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(bs));
        frontends = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fs));
        maxconn = newMaxconn;
        config = next;
    }

    /**
     * The descriptors of every listening socket, for a new process to take over (HAProxy's {@code -x}); empty
     * unless on epoll. The sockets stay ours too until we stop accepting.
     */
    public List<Integer> listeningDescriptors() {
        List<Integer> fds = new ArrayList<>();
        for (Route r : routes.values()) {
            for (Channel ch : r.sockets) {
                if (ch instanceof RelayListener e && ch.isOpen()) {
                    fds.add(e.fd().intValue());
                }
            }
        }
        return fds;
    }

    public ProxyConfig config() { return config; }
    public int threads() { return threads; }
    public int maxconn() { return maxconn; }
    /** Ports listened on (a port with one socket per event loop counts once). */
    public int listenerCount() { return (int) routes.values().stream().filter(r -> !r.sockets.isEmpty()).count(); }
    /** Listening sockets open. */
    public int socketCount() { return routes.values().stream().mapToInt(r -> r.sockets.size()).sum(); }
    public int activeConnections() { return global.count(); }
    /** accept() calls that failed (out of descriptors and the like). */
    public long acceptErrorCount() { return acceptErrors.sum(); }
    public Collection<ProxyBackend> backends() { return backends.values(); }
    public Collection<Frontend> frontends() { return frontends.values(); }

    /** The runtime handle of a backend, for run-time changes; null if there is none of that name. */
    public ProxyBackend backend(String name) { return backends.get(name); }

    public Frontend frontend(String name) { return frontends.get(name); }

    /** The discovery following {@code genesis NAME}, or null when no backend discovers from it. */
    public Discovery discovery(String genesisName) { return discoveries.get(genesisName); }

    /** Stops accepting on every port (live connections go on). */
    public void stopAccepting() {
        stopping = true;
        List<ChannelFuture> closing = new ArrayList<>();
        for (Route r : routes.values()) {
            for (Channel l : r.sockets) {
                gate.remove(l);
                closing.add(l.close());
            }
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
        if (statsHttp != null) {
            statsHttp.close();
        }
        discoveries.close(); // first: no more changes from Genesis for the control agent
        stats.close();
        if (statsSocket != null) {
            statsSocket.close();
        }
        control.close();
        health.close();
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(30, TimeUnit.SECONDS);
        if (connectionLog != null) {
            connectionLog.close(); // last: the records of the connections closed above are written first
        }
    }

    /** planetary_ connect-time and session-duration histograms, per backend. */
    public LatencyHistograms histograms() { return histograms; }

    /** The connection log, or null when no frontend logs. */
    public ConnectionLog connectionLog() { return connectionLog; }

    /** The stats pages' listeners, or null when the config has no stats page. */
    public StatsHttpServer statsHttp() { return statsHttp; }
}
