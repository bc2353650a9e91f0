package dev.planetary.proxy;

import dev.planetary.core.backend.Backend;
import dev.planetary.core.backend.Server;
import dev.planetary.core.config.Addresses;
import dev.planetary.core.config.BackendConfig;
import dev.planetary.core.config.DiscoverConfig;
import dev.planetary.core.config.SendProxy;
import dev.planetary.core.config.ServerOptions;
import dev.planetary.core.config.ServerConfig;

import dev.planetary.core.backend.BackendChange;

import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import dev.planetary.proxy.stats.BackendStats;
import dev.planetary.proxy.stats.Counters;
import dev.planetary.proxy.stats.ProxyStats;
import dev.planetary.proxy.stats.ServerStats;

/**
 * A backend as the running proxy sees it: the server set and balancers ({@link Backend}), its timeouts and retry
 * policy, the queue of connections waiting for a free server slot, and health checks.
 *
 * <p>This is the Java API for changing a backend at run time (the runtime API and the registry drive it):
 * {@link #addServer}, {@link #removeServer}, {@link #setWeight}, {@link #drain}, {@link #ready}, {@link #maint},
 * {@link #replaceServers}. Each is a message to the proxy's {@link ControlAgent}, the backend's one owner, and
 * returns once the snapshot with the change is published (or throws the error that refused it). None of them
 * touches a live connection: a removed or drained server gets no new connections and its live ones finish on
 * their own. Health transitions travel the same way.
 */
public final class ProxyBackend {

    /** Replaced by a reload (same balance): new connections read the new timeouts and retries. */
    private volatile BackendConfig config;
    private final Backend backend;
    private final ConcurrentLinkedDeque<QueueWaiter> queue = new ConcurrentLinkedDeque<>();
    /** Dispatch requests not yet served by a pass; non-zero while one thread is dispatching (see dispatchQueue). */
    private final AtomicInteger dispatchWork = new AtomicInteger();
    private final ControlAgent control;
    /** Control-agent state: the health checker once attached, and the config of each member (by identity). */
    private HealthChecker health;
    private final Map<Server, ServerConfig> configs = new IdentityHashMap<>();
    /** Control-agent state: the discover line the last relist's discovered servers were made with, or null. */
    private DiscoverConfig discover;

    /** Counters of the backend and its servers, per event loop (see {@link Counters}). */
    private final BackendStats stats;

    ProxyBackend(BackendConfig config, ControlAgent control) {
        this(config, control, BackendStats.standalone(config.name()));
    }

    ProxyBackend(BackendConfig config, ControlAgent control, BackendStats stats) {
        this.config = config;
        this.control = control;
        this.stats = stats;
        List<Server> servers = new ArrayList<>();
        for (ServerConfig sc : config.servers()) {
            Server server = newServer(sc);
            servers.add(server);
            configs.put(server, sc);
            joined(server, sc);
        }
        this.backend = new Backend(config.name(), config.balance(), config.hashType(), servers);
        backend.onChange(this::dispatchQueue); // a server came up, got weight or joined: queued connections may go
        noteStates(List.of()); // the initial states, from which lastchg counts
    }

    public String name() { return config.name(); }
    public BackendConfig config() { return config; }
    /** A reload's new settings (timeouts, retries); the server set changes through the control agent. */
    void config(BackendConfig newConfig) { this.config = newConfig; }
    public Backend backend() { return backend; }
    /** The owner of this backend's server set (for tests that need to hold it busy). */
    ControlAgent control() { return control; }
    public List<Server> servers() { return backend.servers(); }
    public int queueLength() { return queue.size(); }
    public BackendStats stats() { return stats; }
    /** A server's configured weight, or its current one if unknown. */
    public int initialWeight(String serverName) {
        // kept in the server's stats (HAProxy's iweight: {@code get weight}, {@code weight N%}), not in a map of its
        // own: one object fewer per server, and it goes when the server's stats go
        ServerStats ss = stats.serverIfPresent(serverName);
        int w = ss != null ? ss.initialWeight() : -1;
        return w >= 0 ? w : backend.server(serverName).map(Server::weight).orElse(0);
    }
    public long noServerCount() { return stats.counters().sum(Counters.NOSRV); }
    public long queueTimeoutCount() { return stats.counters().sum(Counters.QTIMEOUTS); }
    public long connectFailureCount() { return stats.counters().sum(Counters.ECON); }
    public long retryCount() { return stats.counters().sum(Counters.WRETR); }
    public long redispatchCount() { return stats.counters().sum(Counters.WREDIS); }
    public long bytesToServers() { return stats.counters().sum(Counters.BIN); }
    public long bytesToClients() { return stats.counters().sum(Counters.BOUT); }

    /** Starts the health checks of the servers that have {@code check}; runs on the control agent. */
    void attachHealth(HealthChecker health) {
        await(control.run(() -> {
            this.health = health;
            for (Server s : backend.servers()) {
                ServerConfig sc = configOf(s);
                if (sc != null && sc.check()) {
                    health.watch(this, s, sc);
                }
            }
        }));
    }

    // ---- runtime API: each call is a message to the control agent, answered once its snapshot is out ----------

    /** Adds a server (health-checked if its config says {@code check}). */
    public void addServer(ServerConfig sc) {
        Server server = newServer(sc);
        call(new BackendChange.Add(server), new Configs(List.of(server), List.of(sc)));
    }

    /** Removes a server: no new connections; live ones finish on their own. */
    public void removeServer(String serverName) {
        call(new BackendChange.Remove(serverName), Configs.NONE);
    }

    public void setWeight(String serverName, int weight) {
        call(new BackendChange.Weight(serverName, weight), Configs.NONE);
    }

    /**
     * No new connections; live ones continue (HAProxy's {@code state drain}). The operator's state only: the
     * registry's drain ({@link #replaceServers(Collection, Set)}) is kept apart and neither ends the other's.
     */
    public void drain(String serverName) {
        call(new BackendChange.Admin(serverName, Server.Admin.DRAIN), Configs.NONE);
    }

    /** Ends the operator's drain or maintenance; a server the registry drains stays drained until it stops. */
    public void ready(String serverName) {
        call(new BackendChange.Admin(serverName, Server.Admin.READY), Configs.NONE);
    }

    public void maint(String serverName) {
        call(new BackendChange.Admin(serverName, Server.Admin.MAINT), Configs.NONE);
    }

    /**
     * A server's maxconn (0: none), as {@code set maxconn server}: live connections are not touched; raising it
     * lets queued connections go at once.
     */
    public void setMaxconn(String serverName, int maxconn) {
        if (maxconn < 0) {
            throw new IllegalArgumentException("maxconn must be >= 0");
        }
        await(control.run(() -> {
            Server s = backend.server(serverName).orElseThrow(() ->
                new IllegalArgumentException("backend '" + name() + "' has no server named '" + serverName + "'"));
            s.maxconn(maxconn);
        }));
        dispatchQueue();
    }

    /**
     * Moves a server to another address, as {@code set server addr}: one replace in which the server is a new
     * object at the new address with the same weight, maxconn, backup flag, health and admin state (and checks,
     * which follow it); live connections stay with the old address and finish on their own.
     *
     * @return the address it had
     */
    public InetSocketAddress setAddress(String serverName, String host, int port) {
        InetSocketAddress[] old = new InetSocketAddress[1];
        await(control.run(() -> {
            Server s = backend.server(serverName).orElseThrow(() ->
                new IllegalArgumentException("backend '" + name() + "' has no server named '" + serverName + "'"));
            old[0] = s.address();
            ServerConfig sc = configOf(s);
            // only the address moves: the PROXY header (send-proxy, check-send-proxy) goes with the server
            ServerConfig moved = sc == null
                ? new ServerConfig(s.name(), host, port, false, ServerConfig.DEFAULT_INTER_MS, ServerConfig.DEFAULT_RISE,
                    ServerConfig.DEFAULT_FALL, s.weight(), s.maxconn(), s.backup(), false, s.sendProxy(), false, null)
                : new ServerConfig(sc.name(), host, port, sc.check(), sc.interMs(), sc.rise(), sc.fall(), s.weight(),
                    s.maxconn(), s.backup(), sc.disabled(), sc.sendProxy(), sc.checkSendProxy(), sc.origin());
            Server next = new Server(s.name(), new InetSocketAddress(host, port), s.weight(), s.maxconn(), s.backup(),
                s.up(), s.admin(), s.sendProxy());
            next.discoveryDrain(s.discoveryDrain());
            List<Server> list = new ArrayList<>(backend.servers());
            list.replaceAll(x -> x == s ? next : x);
            Backend.Outcome o = applyBatch(List.of(new ControlAgent.Change(this, new BackendChange.Replace(list, null),
                new Configs(List.of(next), List.of(moved)), new CompletableFuture<>()))).get(0);
            if (o.error() != null) {
                throw o.error();
            }
        }));
        return old[0];
    }

    /**
     * Swaps the whole server list atomically, as one message and one snapshot (at most one table build, off the
     * event loops); servers kept by name (same address, backup and maxconn) keep their live connections, health
     * and admin state and take the new weight.
     */
    public void replaceServers(Collection<ServerConfig> wanted) {
        replace(wanted, null);
    }

    /**
     * As {@link #replaceServers(Collection)}, with exactly the servers named in {@code drain} drained by the
     * registry in the same snapshot (VMs draining in Genesis, {@link Server#discoveryDrain()}); a server that leaves
     * the drain set loses the registry's drain only: an operator's drain or maintenance ({@link #drain},
     * {@link #maint}) stays until the operator ends it.
     */
    public void replaceServers(Collection<ServerConfig> wanted, Set<String> drain) {
        replace(wanted, Objects.requireNonNull(drain, "drain"));
    }

    /**
     * A relist of a discovering backend: exactly these servers (see {@link #wanted} and {@link #discovered}), with
     * exactly the servers named in {@code drain} drained by the registry, as one message and one snapshot. Sent as a
     * {@link BackendChange.Relist}: the control agent keeps every current server a description still fits (same
     * object: live connections, counters, health, admin state) and makes only the others, so a relist of thousands
     * of VMs allocates for what changed, not for every server (issue 8's relist pauses).
     */
    void relist(List<Wanted> wanted, Set<String> drain) {
        call(new BackendChange.Relist(wanted, Objects.requireNonNull(drain, "drain")), Configs.NONE);
    }

    private void replace(Collection<ServerConfig> wanted, Set<String> drain) {
        List<Wanted> specs = new ArrayList<>(wanted.size());
        for (ServerConfig sc : wanted) {
            specs.add(wanted(sc));
        }
        call(new BackendChange.Relist(specs, drain), Configs.NONE);
    }

    /** A server of a relist as its config describes it (a host name is resolved here, on the caller's thread). */
    Wanted wanted(ServerConfig sc) {
        return new Wanted(sc.name(), sc.host(), sc.port(), sc, null, literal(sc.host()) ? null : newServer(sc));
    }

    /**
     * A server that {@code discover} describes: named by its VM id, at the VM's ip and the service's port, with the
     * discover line's options. Kept per server is no config of its own: the options are the backend's, and the
     * server holds its name, ip text and port (a server at an IPv4 or IPv6 literal makes its address object only
     * when first connected to, see {@link Server#atLiteral}).
     */
    Wanted discovered(DiscoverConfig discover, String name, String host, int port) {
        return new Wanted(name, host, port, null, discover,
            literal(host) ? null : newServer(discover.server(name, host, port)));
    }

    /**
     * One wanted server of a relist, by its config (or a discover line's options). Kept: the member with the same
     * port, backup, maxconn and proxy header at the same IP literal (string compare, no address object), or else
     * one whose address equals this one's (a host name is resolved by the caller, off the control agent), as a
     * {@link BackendChange.Replace} compares. The control agent reads it after the caller handed it over through
     * its queue.
     */
    final class Wanted implements BackendChange.Wanted {
        private final String name;
        private final String host;
        private final int port;
        /** The server's own config, or null for a discovered server ({@link #discover} then). */
        private final ServerConfig sc;
        private final DiscoverConfig discover;
        private Server made;

        private Wanted(String name, String host, int port, ServerConfig sc, DiscoverConfig discover, Server resolved) {
            this.name = name;
            this.host = host;
            this.port = port;
            this.sc = sc;
            this.discover = discover;
            this.made = resolved;
        }

        private ServerOptions options() {
            return discover.options();
        }

        @Override public String name() { return name; }
        @Override public int weight() { return sc != null ? sc.weight() : options().weight(); }

        @Override
        public boolean keeps(Server current) {
            boolean backup = sc != null ? sc.backup() : options().backup();
            int maxconn = sc != null ? sc.maxconn() : options().maxconn();
            SendProxy proxy = sc != null ? sc.sendProxy() : options().sendProxy();
            if (current.port() != port || current.backup() != backup || current.maxconn() != maxconn
                || current.sendProxy() != proxy) {
                return false;
            }
            if (made == null && host.equals(hostOf(current))) {
                return true; // an IP literal: the same text as the member's is the same address
            }
            return create().address().equals(current.address()); // else compared as a Replace compares
        }

        @Override
        public Server create() {
            if (made == null) {
                ServerConfig c = sc != null ? sc : discover.server(name, host, port);
                // a bare IPv4 or IPv6 literal keeps its text (compared as text by the next relist, see keeps); any
                // other text literal() let through (brackets, a scope) is read by the JDK here, as before
                made = Addresses.isIpLiteral(host) ? atLiteral(c) : newServer(c);
            }
            return made;
        }
    }

    /** The host text a member was made for, without making its address object. */
    private String hostOf(Server s) {
        ServerConfig sc = configs.get(s);
        return sc != null ? sc.host() : s.literal();
    }

    /**
     * A member's config: its own, or for a discovered server (which keeps none, see {@link #discovered}) the
     * options of the discover line that made it, at its name and address, made on demand.
     */
    private ServerConfig configOf(Server s) {
        ServerConfig sc = configs.get(s);
        if (sc != null) {
            return sc;
        }
        DiscoverConfig d = discover != null ? discover : config.discover();
        return d == null ? null : d.server(s.name(), s.host(), s.port());
    }

    /**
     * True for a valid IPv4 or IPv6 literal (resolving it needs no name service). Anything else, "300.1.1.1"
     * included, is a name, resolved where a name is: on the caller's thread, not the control agent's.
     */
    static boolean literal(String host) {
        return NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host);
    }

    /** A health transition, applied by the control agent; the future completes once its snapshot is out. */
    CompletableFuture<Backend.Outcome> setHealth(Server server, boolean up) {
        return control.submit(this, new BackendChange.Health(server, up), Configs.NONE);
    }

    private Server call(BackendChange change, Configs cfgs) {
        Backend.Outcome o;
        if (control.isOwner()) {
            o = applyBatch(List.of(new ControlAgent.Change(this, change, cfgs, new CompletableFuture<>()))).get(0);
        } else {
            o = await(control.submit(this, change, cfgs));
        }
        if (o.error() != null) {
            throw o.error();
        }
        return o.server();
    }

    private static <T> T await(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /** The configs of new Server objects that travel with a change (health checks need inter, rise, fall). */
    record Configs(List<Server> servers, List<ServerConfig> configs) {
        static final Configs NONE = new Configs(List.of(), List.of());
    }

    /**
     * Applies a batch of changes on the control agent: one snapshot, then health checks follow membership (servers
     * that left stop being checked, new ones with {@code check} start), then the callers are answered.
     */
    List<Backend.Outcome> applyBatch(List<ControlAgent.Change> batch) {
        List<BackendChange> changes = new ArrayList<>(batch.size());
        boolean madeElsewhere = false;
        for (ControlAgent.Change c : batch) {
            changes.add(c.change());
            Configs cfgs = c.configs();
            for (int i = 0; i < cfgs.servers().size(); i++) {
                configs.put(cfgs.servers().get(i), cfgs.configs().get(i));
                madeElsewhere = true;
            }
        }
        List<String> madeStats = statsForJoining(changes);
        Backend.Applied applied = backend.apply(changes);
        Map<String, Server> members = applied.snapshot().byName();
        for (String name : madeStats) {
            if (!members.containsKey(name)) {
                stats.forget(name); // made for a server that did not join (a refused add)
            }
        }
        for (BackendChange c : changes) {
            if (c instanceof BackendChange.Relist relist) {
                for (BackendChange.Wanted w : relist.wanted()) {
                    Wanted spec = (Wanted) w;
                    if (spec.discover != null) {
                        discover = spec.discover; // the options its discovered servers were made with
                    } else if (spec.made != null && members.get(spec.name) == spec.made) {
                        configs.put(spec.made, spec.sc); // made and joined (not only made to compare addresses)
                    }
                }
            }
        }
        HealthChecker h = health;
        Set<String> stay = applied.left().isEmpty() ? Set.of() : members.keySet();
        for (Server s : applied.left()) {
            if (h != null) {
                h.unwatch(s);
            }
            if (!stay.contains(s.name())) {
                stats.forget(s.name()); // gone, not replaced under its name: a later one starts from zero
            }
        }
        for (Server s : applied.joined()) {
            ServerConfig sc = configOf(s);
            joined(s, sc);
            if (h != null && sc != null && sc.check()) {
                h.watch(this, s, sc);
            }
        }
        noteStates(changes);
        // keep configs only for members: objects a replace did not keep, refused adds and removed servers go
        if (madeElsewhere || !applied.left().isEmpty()) {
            configs.keySet().retainAll(identitySet(applied.snapshot().servers()));
        }
        List<Backend.Outcome> outcomes = applied.outcomes();
        for (int i = 0; i < batch.size(); i++) {
            batch.get(i).done().complete(outcomes.get(i));
        }
        return outcomes;
    }

    /**
     * Makes the stats of every server a batch may bring in, before its snapshot is published: an event loop that
     * picks a new server finds its stats there, and no other thread ever makes stats (a stats reader or an event
     * loop holding an older snapshot would make them again for a server that has left, see
     * {@link BackendStats#joining}). Returns the names whose stats were made here, to forget those that did not join.
     */
    private List<String> statsForJoining(List<BackendChange> changes) {
        List<String> made = new ArrayList<>();
        for (BackendChange c : changes) {
            if (c instanceof BackendChange.Add a) {
                joining(a.server().name(), made);
            } else if (c instanceof BackendChange.Replace r) {
                for (Server s : r.wanted()) {
                    joining(s.name(), made);
                }
            } else if (c instanceof BackendChange.Relist r) {
                for (BackendChange.Wanted w : r.wanted()) {
                    joining(w.name(), made);
                }
            }
        }
        return made;
    }

    private void joining(String name, List<String> made) {
        if (stats.serverIfPresent(name) == null) {
            stats.joining(name);
            made.add(name);
        }
    }

    /** A server joined: its stats exist from now on (numbered in order of arrival, as HAProxy's sid). */
    private void joined(Server s, ServerConfig sc) {
        ServerStats ss = stats.joining(s.name()); // the owner: made already unless at construction
        ss.initialWeight(sc != null ? sc.weight() : s.weight());
        if (sc != null && sc.check()) {
            ss.checked(sc.rise(), sc.fall());
        }
    }

    /** lastchg, downtime and chkdown of the servers and of the backend, after a batch (control agent). */
    private void noteStates(List<BackendChange> changes) {
        long now = ProxyStats.now();
        for (Server s : backend.servers()) {
            ServerStats ss = stats.joining(s.name()); // members: made before they joined
            boolean operational = s.up() && s.effectiveAdmin() != Server.Admin.MAINT;
            boolean touched = false;
            for (BackendChange c : changes) {
                touched |= c instanceof BackendChange.Admin a && a.name().equals(s.name());
            }
            ss.state().note(operational, touched, now);
        }
        stats.state().note(backend.anyUsable(), false, now);
    }

    private static Set<Server> identitySet(List<Server> servers) {
        Set<Server> set = Collections.newSetFromMap(new IdentityHashMap<>(servers.size() * 2));
        set.addAll(servers);
        return set;
    }

    static Server newServer(ServerConfig sc) {
        return newServer(sc, new InetSocketAddress(sc.host(), sc.port()));
    }

    private static Server newServer(ServerConfig sc, InetSocketAddress address) {
        Server.Admin admin = sc.disabled() ? Server.Admin.MAINT : Server.Admin.READY;
        return new Server(sc.name(), address, sc.weight(), sc.maxconn(), sc.backup(), true, admin,
            sc.sendProxy());
    }

    /** A server at an IP literal, its address object made on first use (see {@link Server#atLiteral}). */
    private static Server atLiteral(ServerConfig sc) {
        Server.Admin admin = sc.disabled() ? Server.Admin.MAINT : Server.Admin.READY;
        return Server.atLiteral(sc.name(), sc.host(), sc.port(), sc.weight(), sc.maxconn(), sc.backup(), true, admin,
            sc.sendProxy());
    }

    // ---- forwarding path ----------------------------------------------------------------------------------

    /** A server for a new connection, with its slot taken, or null. See {@link Backend#pick}. */
    Server pick(int sourceHash, Server avoid) {
        return backend.pick(sourceHash, avoid);
    }

    /** The same server again for a retry, with its slot taken, if still a usable member; else null. */
    Server reacquire(Server server) {
        return backend.reacquire(server);
    }

    void release(Server server) {
        backend.release(server);
        if (!queue.isEmpty()) {
            dispatchQueue();
        }
    }

    boolean anyUsable() {
        return backend.anyUsable();
    }

    /** True when earlier connections are already waiting: newcomers queue behind them, first come first served. */
    boolean hasQueue() {
        return !queue.isEmpty();
    }

    void enqueue(QueueWaiter waiter) {
        queue.addLast(waiter);
        dispatchQueue(); // a slot may have freed since the failed pick
    }

    /**
     * Gives free server slots to waiting connections, oldest first. Runs on any thread, but one thread dispatches at
     * a time: a call that finds another dispatcher running only counts itself in {@link #dispatchWork}, and the
     * running one makes another pass before it stops. So a slot freed (or a server come up) while a waiter is being
     * tried is seen by a later pass (no lost wake-up), and since only the dispatcher takes waiters out, and only
     * once served, the queue keeps its order. Each pass stops at the first waiter no server can take; its length
     * is bounded by the free slots plus the dead waiters it drops.
     */
    void dispatchQueue() {
        if (dispatchWork.getAndIncrement() != 0) {
            return; // the running dispatcher will pass again
        }
        int missed = 1;
        do {
            dispatchPass();
            missed = dispatchWork.addAndGet(-missed);
        } while (missed != 0);
    }

    private void dispatchPass() {
        for (;;) {
            QueueWaiter waiter = queue.peekFirst();
            if (waiter == null) {
                return;
            }
            if (!waiter.waiting()) {
                queue.pollFirst(); // timed out or gone: drop it
                continue;
            }
            Server server = backend.pick(waiter.sourceHash(), null);
            if (server == null) {
                return; // waits on until a slot frees, a server comes up, or timeout queue
            }
            queue.pollFirst();
            if (!waiter.dequeued(server)) {
                backend.release(server); // it stopped waiting meanwhile; the next pass may use the slot
            }
        }
    }
}
