package dev.planetary.registry;

import dev.planetary.core.ports.PortPlan;
import dev.planetary.registry.etcd.EtcdLiveness;
import dev.planetary.registry.etcd.EtcdStore;
import dev.planetary.registry.etcd.EtcdTarget;
import dev.planetary.registry.http.ApiHandler;
import dev.planetary.registry.http.Connections;
import dev.planetary.registry.http.HttpLimits;
import dev.planetary.registry.http.HttpPipeline;
import dev.planetary.registry.http.Peers;
import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Faults;
import dev.planetary.registry.state.Registry;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.store.SharedStore;
import dev.planetary.registry.store.Store;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Genesis registry: the data dir recovered, the writer thread, and the HTTP listener(s) on Netty. Start it
 * with {@link #start}, stop it with {@link #close}.
 */
public final class Genesis implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Genesis.class);
    /**
     * A writer round (apply a batch, append, fsync, publish) or an event loop late by more than this is a stall of
     * Genesis' own: a group commit takes milliseconds and a loop runs its tasks within microseconds, so 2 s means a
     * disk, the machine or the JVM held Genesis up, and heartbeats may have gone unanswered. Well under the agent's
     * 5 s request timeout (a stall long enough for agents to give up on a heartbeat is always caught), and above
     * the second-long hiccups a busy shared machine has (each would hold expiry for a TTL for nothing).
     */
    public static final long STALL_MILLIS = 2_000;
    /** How often each HTTP event loop checks that it is on time (see {@link #STALL_MILLIS}). */
    static final long LOOP_CHECK_MILLIS = 250;

    /**
     * How to run. {@code vmListen}: an optional second listener serving only register/heartbeat/leave;
     * {@code repairLog}: drop a damaged last log record instead of refusing to start; {@code limits}: the HTTP
     * server's timeouts and connection caps; {@code catchUp}: how long a watch resume ahead of this instance (same
     * history) waits for it to catch up before a 503 ({@link ApiHandler#CATCH_UP_MILLIS} by default).
     */
    public record Options(InetSocketAddress listen, InetSocketAddress vmListen, Path dataDir, Settings settings,
                          boolean allowDeclaredIp, String token, PortPlan plan, boolean repairLog, HttpLimits limits,
                          EtcdTarget etcd, Duration catchUp) {

        public Options {
            if (catchUp == null || catchUp.isNegative() || catchUp.isZero()) {
                throw new IllegalArgumentException("the catch-up wait must be positive, got " + catchUp);
            }
        }

        /** With the default catch-up wait. */
        public Options(InetSocketAddress listen, InetSocketAddress vmListen, Path dataDir, Settings settings,
                       boolean allowDeclaredIp, String token, PortPlan plan, boolean repairLog, HttpLimits limits,
                       EtcdTarget etcd) {
            this(listen, vmListen, dataDir, settings, allowDeclaredIp, token, plan, repairLog, limits, etcd,
                Duration.ofMillis(ApiHandler.CATCH_UP_MILLIS));
        }

        /** The same options with another catch-up wait (tests on a loaded machine take a generous one). */
        public Options withCatchUp(Duration wait) {
            return new Options(listen, vmListen, dataDir, settings, allowDeclaredIp, token, plan, repairLog, limits,
                etcd, wait);
        }

        /** With the local store (the data dir's write-ahead log). */
        public Options(InetSocketAddress listen, InetSocketAddress vmListen, Path dataDir, Settings settings,
                       boolean allowDeclaredIp, String token, PortPlan plan, boolean repairLog, HttpLimits limits) {
            this(listen, vmListen, dataDir, settings, allowDeclaredIp, token, plan, repairLog, limits, null);
        }

        /** The same options with the state on etcd ({@code --store etcd}); null: the local store. */
        public Options withEtcd(EtcdTarget target) {
            return new Options(listen, vmListen, dataDir, settings, allowDeclaredIp, token, plan, repairLog, limits,
                target, catchUp);
        }

        /** With the default HTTP limits. */
        public Options(InetSocketAddress listen, InetSocketAddress vmListen, Path dataDir, Settings settings,
                       boolean allowDeclaredIp, String token, PortPlan plan, boolean repairLog) {
            this(listen, vmListen, dataDir, settings, allowDeclaredIp, token, plan, repairLog, HttpLimits.defaults());
        }

        /** With the default port plan and no repair. */
        public Options(InetSocketAddress listen, InetSocketAddress vmListen, Path dataDir, Settings settings,
                       boolean allowDeclaredIp, String token) {
            this(listen, vmListen, dataDir, settings, allowDeclaredIp, token, PortPlan.DEFAULT, false);
        }
    }

    private final Options options;
    private final Clock clock;
    private final Hub hub = new Hub();
    private final Peers peers = new Peers();
    private final Faults faults = new Faults();
    private final Connections connections;
    private final byte[] tokenDigest;
    private Store store;
    private EtcdStore etcdStore;
    /** The history this instance's versions belong to (the store's; sent on the watch stream). */
    private volatile String historyId;
    /** With {@code --store etcd}: heartbeats renew the VMs' etcd leases (see {@link EtcdLiveness}). */
    private EtcdLiveness etcdLiveness;
    private Writer writer;
    private EventLoopGroup group;
    /** Watch streams move here once subscribed: fanning a change out to every stream never delays a heartbeat. */
    private EventLoopGroup watchGroup;
    private final List<Channel> listeners = new ArrayList<>();
    /** Every accepted connection while open (a channel leaves the group when it closes), to close them at stop. */
    private final ChannelGroup accepted = new DefaultChannelGroup("genesis-connections", GlobalEventExecutor.INSTANCE);

    private Genesis(Options options, Clock clock) {
        this.options = options;
        this.clock = clock;
        this.connections = new Connections(options.limits(), faults, clock);
        this.tokenDigest = ApiHandler.sha256(options.token().getBytes(StandardCharsets.UTF_8));
    }

    public static Genesis start(Options options, Clock clock, Random random, Consumer<String> onFatal)
        throws IOException {
        Genesis g = new Genesis(options, clock);
        try {
            g.open(random, onFatal);
            return g;
        } catch (IOException | RuntimeException e) {
            g.close();
            throw e;
        }
    }

    public static Genesis start(Options options) throws IOException {
        return start(options, Clock.system(), new SecureRandom(), why -> { });
    }

    private void open(Random random, Consumer<String> onFatal) throws IOException {
        if (options.etcd() != null) {
            openOnEtcd(random, onFatal);
        } else {
            openLocal(random, onFatal);
        }
        startHttp();
    }

    /**
     * {@code --store etcd}: the state read back from etcd in one consistent read, the writer following the other
     * instances' commits from the revision after it, and this instance campaigning to run the timed duties.
     */
    private void openOnEtcd(Random random, Consumer<String> onFatal) throws IOException {
        etcdStore = EtcdStore.open(options.etcd().endpoints(), options.etcd().prefix());
        PortPlan configured = options.plan();
        String recorded = etcdStore.recordPlanIfAbsent(configured.spec());
        if (!recorded.equals(configured.spec())) {
            throw new IOException(etcdStore.describe() + " holds a registry written with port plan " + recorded
                + "; refusing to start with --port-plan " + configured.spec() + " (every Genesis instance on one "
                + "registry serves one plan): start with --port-plan " + recorded);
        }
        historyId = etcdStore.historyId();
        SharedStore.Loaded loaded = etcdStore.load();
        long now = clock.nanos();
        Supplier<Registry> fresh = () -> new Registry(options.settings(), configured, random, faults);
        Registry registry = fresh.get();
        try {
            registry.restore(loaded.version(), loaded.vms(), loaded.released(), now);
        } catch (IllegalStateException e) {
            throw new IOException(etcdStore.describe() + ": " + e.getMessage());
        }
        registry.pending();
        hub.init(registry.view(), loaded.log().stream().filter(c -> c.version() <= loaded.version()).toList());
        LOG.info("read {} VMs at version {} from {} ({} change records kept); port plan {} ({} VMs at most)",
            registry.vms().size(), registry.version(), etcdStore.describe(), loaded.log().size(),
            configured.spec(), configured.maxVms());
        etcdLiveness = etcdStore.liveness(options.settings().ttl());
        writer = new Writer(registry, etcdStore, fresh, hub, clock, onFatal, faults);
        writer.follow(loaded.revision() + 1);
        writer.start();
        etcdStore.campaign();
        warnDeclaredIp();
    }

    private void openLocal(Random random, Consumer<String> onFatal) throws IOException {
        store = Store.open(options.dataDir());
        historyId = store.historyId();
        Store.Recovered rec = store.recover(options.repairLog());
        long now = clock.nanos();
        Registry registry = recover(rec, random, now);
        hub.init(registry.view(), rec.log());
        LOG.info("recovered {} VMs at version {} from {} ({} log records after the snapshot); port plan {} ({} VMs "
            + "at most)", registry.vms().size(), registry.version(), options.dataDir(), rec.log().size(),
            registry.plan().spec(), registry.plan().maxVms());
        warnDeclaredIp();
        writer = new Writer(registry, store, hub, clock, onFatal, faults);
        writer.start();
    }

    private void warnDeclaredIp() {
        if (options.allowDeclaredIp()) {
            LOG.warn("--allow-declared-ip: VMs may register an address other than the one they connect from "
                + "(NAT set-ups); the token is then the only thing that keeps a machine from pointing traffic "
                + "at an address it does not own");
        }
    }

    private void startHttp() throws IOException {
        boolean epoll = Epoll.isAvailable();
        if (!epoll) {
            LOG.warn("native epoll is not available, falling back to NIO: {}", String.valueOf(Epoll.unavailabilityCause()));
        }
        group = new MultiThreadIoEventLoopGroup(0, new DefaultThreadFactory("registry-http", false),
            epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        watchGroup = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("registry-watch", false),
            epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        Class<? extends ServerChannel> ch = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        bind(ch, options.listen(), false);
        if (options.vmListen() != null) {
            bind(ch, options.vmListen(), true);
        }
        for (io.netty.util.concurrent.EventExecutor loop : group) {
            watchLoop(loop);
        }
    }

    /** Reports a late-running event loop to {@link Faults}: its heartbeats waited, unanswered, meanwhile. */
    private void watchLoop(io.netty.util.concurrent.EventExecutor loop) {
        long period = TimeUnit.MILLISECONDS.toNanos(LOOP_CHECK_MILLIS);
        long bound = TimeUnit.MILLISECONDS.toNanos(STALL_MILLIS);
        // lateness in real time (a test's clock jumps are not stalls); the window in the registry's time
        long[] last = {System.nanoTime()};
        loop.scheduleAtFixedRate(() -> {
            long now = System.nanoTime();
            long late = now - last[0] - period;
            last[0] = now;
            if (late > bound) {
                faults.report("an event loop stalled for " + TimeUnit.NANOSECONDS.toMillis(late) + " ms",
                    clock.nanos());
            }
        }, LOOP_CHECK_MILLIS, LOOP_CHECK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * Rebuilds the state under the port plan it was written with (recorded in the data dir; a data dir from before
     * the plan was an option was written with the default one). When that is not the configured plan, the start is
     * refused while any VM holds ports under the old one (a proxy may be routing them); with none held, the
     * configured plan takes over from a fresh snapshot, keeping the version counter.
     */
    private Registry recover(Store.Recovered rec, Random random, long now) throws IOException {
        String recorded = store.recordedPlan();
        PortPlan configured = options.plan();
        PortPlan written;
        if (recorded != null) {
            try {
                written = PortPlan.parse(recorded);
            } catch (IllegalArgumentException e) {
                throw new IOException(options.dataDir().resolve("port-plan") + ": not a port plan: " + e.getMessage());
            }
        } else {
            written = store.hasState() ? PortPlan.DEFAULT : configured;
        }
        Registry registry = new Registry(options.settings(), written, random, faults);
        try {
            registry.restore(rec.snapshotVersion(), rec.vms(), rec.released(), now);
            for (Change c : rec.log()) {
                registry.replay(c, now);
            }
        } catch (IllegalStateException e) {
            throw new IOException(options.dataDir() + ": " + e.getMessage());
        }
        registry.pending();
        if (!written.equals(configured)) {
            int held = registry.reservationTable().size();
            if (held > 0) {
                long grace = registry.reservations().size();
                throw new IOException("data dir " + options.dataDir() + " was written with port plan "
                    + written.spec() + (recorded == null ? " (the default; this data dir predates --port-plan)" : "")
                    + ", and " + held + " VM" + (held == 1 ? " holds" : "s hold") + " ports under it (" + grace
                    + " of them removed and in their grace period); refusing to start with --port-plan "
                    + configured.spec() + ": a proxy may still route those ports. Start with --port-plan "
                    + written.spec() + ", or change the plan once every VM has left and its grace period has passed, "
                    + "or use a new data dir");
            }
            LOG.warn("port plan changed from {} to {} (no VM holds ports, the version goes on from {})", written.spec(),
                configured.spec(), registry.version());
            long version = registry.version();
            registry = new Registry(options.settings(), configured, random, faults);
            registry.restore(version, List.of(), List.of(), now);
            // the old plan's records are not replayed under the new one again
            store.snapshot(version, List.of(), List.of());
        }
        if (recorded == null || !written.equals(configured)) {
            store.recordPlan(configured.spec());
        }
        return registry;
    }

    private void bind(Class<? extends ServerChannel> ch, InetSocketAddress addr, boolean vmOnly) throws IOException {
        ServerBootstrap sb = new ServerBootstrap().group(group).channel(ch)
            .handler(HttpPipeline.acceptBackoff(faults, clock))
            .option(ChannelOption.SO_REUSEADDR, true)
            .option(ChannelOption.SO_BACKLOG, 4096)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(new HttpPipeline(this, vmOnly));
        try {
            Channel c = sb.bind(addr).syncUninterruptibly().channel();
            listeners.add(c);
            LOG.info("listening on http://{}:{}/ ({})", addr.getHostString(), port(c),
                vmOnly ? "VM endpoints only: register, heartbeat, leave" : "API, watch stream and dashboard");
        } catch (RuntimeException e) {
            throw new IOException("cannot listen on " + addr.getHostString() + ":" + addr.getPort() + ": "
                + e.getMessage(), e);
        }
    }

    private static int port(Channel c) {
        return ((InetSocketAddress) c.localAddress()).getPort();
    }

    /** The bound port of the main listener (for tests that listen on port 0). */
    public int port() {
        return port(listeners.get(0));
    }

    /** The bound port of the VM-only listener. */
    public int vmPort() {
        return port(listeners.get(1));
    }

    /**
     * A registration or heartbeat of {@code id} was answered here: with {@code --store etcd} its liveness lease is
     * renewed, so that the leader hears of it whichever instance answered. Never blocks.
     */
    public void beat(String id) {
        EtcdLiveness l = etcdLiveness;
        if (l != null) {
            l.beat(id);
        }
    }

    public Options options() { return options; }
    public Clock clock() { return clock; }
    public Hub hub() { return hub; }
    /** The peers arrays of registration answers, built once per published view. */
    public Peers peers() { return peers; }
    public Writer writer() { return writer; }
    /** The event loops that serve watch streams (see {@link #watchGroup}). */
    public EventLoopGroup watchGroup() { return watchGroup; }
    /** The id of the history this instance's versions belong to: the same on every instance of one store. */
    public String historyId() {
        return historyId;
    }

    public byte[] tokenDigest() { return tokenDigest.clone(); }
    /** Genesis' own unhealthy windows (expiry is held after each). */
    public Faults faults() { return faults; }
    /** Open connections and what the HTTP server refused or cut. */
    public Connections connections() { return connections; }
    /** The listening channels (main first). */
    public List<Channel> listeners() { return List.copyOf(listeners); }
    /** The open accepted connections (HttpPipeline adds each; closed ones leave by themselves). */
    public ChannelGroup accepted() { return accepted; }

    @Override
    public void close() {
        hub.close(); // parked resumes: their loops stop below, while the writer may still publish
        for (Channel c : listeners) {
            c.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        // every connection closed while its loop still runs tasks, so channelInactive releases what its decoder holds
        // (a request still arriving); left to the loops' shutdown, such a buffer leaked (ci92, CloseWithPartialRequests)
        accepted.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        for (EventLoopGroup g : new EventLoopGroup[] {group, watchGroup}) {
            if (g != null) {
                g.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
            }
        }
        if (writer != null) {
            writer.close();
        }
        if (etcdStore != null) {
            etcdStore.close();
        }
        if (store != null) {
            try {
                store.close();
            } catch (IOException e) {
                LOG.warn("closing the data dir: {}", e.toString());
            }
        }
    }
}
