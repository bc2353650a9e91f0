package dev.planetary.proxy;

import dev.planetary.core.backend.Backend;
import dev.planetary.core.backend.Server;
import dev.planetary.core.config.BackendConfig;
import dev.planetary.core.config.ServerConfig;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.LongAdder;

/**
 * A backend as the running proxy sees it: the server set and balancers ({@link Backend}), its timeouts and retry
 * policy, the queue of connections waiting for a free server slot, and health checks.
 *
 * <p>This is the Java API for changing a backend at run time (later the runtime API and the registry drive it):
 * {@link #addServer}, {@link #removeServer}, {@link #setWeight}, {@link #drain}, {@link #ready}, {@link #maint},
 * {@link #replaceServers}. None of them touches a live connection: a removed or drained server gets no new
 * connections and its live ones finish on their own.
 */
public final class ProxyBackend {

    private final BackendConfig config;
    private final Backend backend;
    private final ConcurrentLinkedDeque<Session> queue = new ConcurrentLinkedDeque<>();
    private volatile HealthChecker health;

    final LongAdder noServer = new LongAdder();
    final LongAdder queued = new LongAdder();
    final LongAdder queueTimeouts = new LongAdder();
    final LongAdder connectFailures = new LongAdder();
    final LongAdder retries = new LongAdder();
    final LongAdder redispatches = new LongAdder();
    final LongAdder bytesToServers = new LongAdder();
    final LongAdder bytesToClients = new LongAdder();

    ProxyBackend(BackendConfig config) {
        this.config = config;
        List<Server> servers = new ArrayList<>();
        for (ServerConfig sc : config.servers()) {
            servers.add(newServer(sc));
        }
        this.backend = new Backend(config.name(), config.balance(), config.hashType(), servers);
        backend.onStateChange(s -> dispatchQueue());
    }

    public String name() { return config.name(); }
    public BackendConfig config() { return config; }
    public Backend backend() { return backend; }
    public List<Server> servers() { return backend.servers(); }
    public int queueLength() { return queue.size(); }
    public long noServerCount() { return noServer.sum(); }
    public long queueTimeoutCount() { return queueTimeouts.sum(); }
    public long connectFailureCount() { return connectFailures.sum(); }
    public long retryCount() { return retries.sum(); }
    public long redispatchCount() { return redispatches.sum(); }

    void attachHealth(HealthChecker health) {
        this.health = health;
        for (ServerConfig sc : config.servers()) {
            if (sc.check()) {
                backend.server(sc.name()).ifPresent(s -> health.watch(this, s, sc));
            }
        }
    }

    HealthChecker health() { return health; }

    // ---- runtime API --------------------------------------------------------------------------------------

    /** Adds a server (health-checked if its config says {@code check}). */
    public void addServer(ServerConfig sc) {
        Server server = newServer(sc);
        backend.addServer(server);
        HealthChecker h = health;
        if (sc.check() && h != null) {
            h.watch(this, server, sc);
        }
    }

    /** Removes a server: no new connections; live ones finish on their own. */
    public void removeServer(String serverName) {
        Server removed = backend.removeServer(serverName);
        HealthChecker h = health;
        if (h != null) {
            h.unwatch(removed);
        }
    }

    public void setWeight(String serverName, int weight) {
        backend.setWeight(serverName, weight);
    }

    /** No new connections; live ones continue (HAProxy's {@code state drain}). */
    public void drain(String serverName) {
        backend.setAdmin(serverName, Server.Admin.DRAIN);
    }

    public void ready(String serverName) {
        backend.setAdmin(serverName, Server.Admin.READY);
    }

    public void maint(String serverName) {
        backend.setAdmin(serverName, Server.Admin.MAINT);
    }

    /** Swaps the whole server list atomically; servers kept by name keep their live connections and state. */
    public synchronized void replaceServers(Collection<ServerConfig> wanted) {
        List<Server> before = backend.servers();
        List<Server> next = new ArrayList<>();
        for (ServerConfig sc : wanted) {
            next.add(newServer(sc));
        }
        backend.replaceServers(next);
        HealthChecker h = health;
        if (h != null) {
            List<Server> after = backend.servers();
            for (Server s : before) {
                if (!after.contains(s)) {
                    h.unwatch(s);
                }
            }
            for (ServerConfig sc : wanted) {
                Server s = backend.server(sc.name()).orElseThrow();
                if (sc.check() && !before.contains(s)) {
                    h.watch(this, s, sc);
                }
            }
        }
    }

    /**
     * Discovery's swap: {@code wanted} becomes the server list, the servers named in {@code drain} take no new
     * connections (their live ones finish). Stand-in until the backend rewrite lands its single-snapshot version:
     * servers to drain are drained before the swap, so the swap never makes one usable that should not be.
     */
    public synchronized void replaceServers(Collection<ServerConfig> wanted, java.util.Set<String> drain) {
        for (String name : drain) {
            if (backend.server(name).isPresent()) {
                backend.setAdmin(name, Server.Admin.DRAIN);
            }
        }
        // a server first seen draining has no connections here to finish: it need not join at all
        List<ServerConfig> kept = new ArrayList<>(wanted.size());
        for (ServerConfig sc : wanted) {
            if (!drain.contains(sc.name()) || backend.server(sc.name()).isPresent()) {
                kept.add(sc);
            }
        }
        replaceServers(kept);
        for (ServerConfig sc : kept) {
            Server s = backend.server(sc.name()).orElseThrow();
            Server.Admin want = drain.contains(sc.name()) ? Server.Admin.DRAIN
                : sc.disabled() ? Server.Admin.MAINT : Server.Admin.READY;
            if (s.admin() != want && (want == Server.Admin.DRAIN || s.admin() == Server.Admin.DRAIN)) {
                backend.setAdmin(sc.name(), want);
            }
        }
    }

    private static Server newServer(ServerConfig sc) {
        InetSocketAddress address = new InetSocketAddress(sc.host(), sc.port());
        Server.Admin admin = sc.disabled() ? Server.Admin.MAINT : Server.Admin.READY;
        return new Server(sc.name(), address, sc.weight(), sc.maxconn(), sc.backup(), true, admin);
    }

    // ---- forwarding path ----------------------------------------------------------------------------------

    /** A server for a new connection, with its slot taken, or null. See {@link Backend#pick}. */
    Server pick(int sourceHash, Server avoid) {
        return backend.pick(sourceHash, avoid);
    }

    /** The same server again for a retry, slot taken, if the backend still has it usable and not full; else null. */
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

    void enqueue(Session session) {
        queued.increment();
        queue.addLast(session);
        dispatchQueue(); // a slot may have freed since the failed pick
    }

    /** Gives free server slots to waiting connections, oldest first. Runs on any thread. */
    void dispatchQueue() {
        for (int i = 0; i < 1024; i++) { // bounded: each turn either serves, drops a dead waiter, or stops
            Session waiter = queue.pollFirst();
            if (waiter == null) {
                return;
            }
            if (!waiter.waiting()) {
                continue;
            }
            Server server = backend.pick(waiter.sourceHash(), null);
            if (server == null) {
                queue.addFirst(waiter); // waits on until a slot frees, a server comes up, or timeout queue
                return;
            }
            if (!waiter.dequeued(server)) {
                release(server);
            }
        }
    }
}
