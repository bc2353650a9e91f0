package dev.planetary.core.backend;

import dev.planetary.core.balance.Balancer;
import dev.planetary.core.balance.Balancers;
import dev.planetary.core.config.BalanceAlgorithm;
import dev.planetary.core.config.HashType;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A backend's server set and its balancers, changeable at run time without touching live connections.
 *
 * <p>Readers (event loops) see one immutable {@link Snapshot}; every membership change publishes a new one whole.
 * Control methods are {@code synchronized}: they run on the control plane (config load, health checker, runtime
 * API, registry), never on the forwarding path. Live connections keep the {@link Server} object they were given and
 * release it through the balancer that gave it ({@link Pick}), so a removed or drained server simply stops getting
 * new connections while its live ones finish on their own.
 */
public final class Backend {

    /** The servers and balancers in force; replaced whole, never mutated. */
    public record Snapshot(long version, List<Server> servers, Map<String, Server> byName, Balancer active,
                           Balancer backup) {
    }

    private final String name;
    private final BalanceAlgorithm algorithm;
    private final HashType hashType;
    private volatile Snapshot snapshot;
    private final List<Consumer<Server>> stateListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    public Backend(String name, BalanceAlgorithm algorithm, HashType hashType, Collection<Server> servers) {
        this.name = Objects.requireNonNull(name, "name");
        this.algorithm = Objects.requireNonNull(algorithm, "algorithm");
        this.hashType = Objects.requireNonNull(hashType, "hashType");
        this.snapshot = build(0, servers);
    }

    public String name() { return name; }
    public BalanceAlgorithm algorithm() { return algorithm; }
    public HashType hashType() { return hashType; }
    public Snapshot snapshot() { return snapshot; }
    public List<Server> servers() { return snapshot.servers(); }

    public Optional<Server> server(String serverName) {
        return Optional.ofNullable(snapshot.byName().get(serverName));
    }

    /**
     * Picks a server for a new connection and claims a slot on it: an active server if any is usable, otherwise a
     * backup one (HAProxy uses backups only when no active server is up). Hot path: no lock, no allocation beyond
     * what the balancer does (none), never throws.
     *
     * @return the server, or null when none is usable or all usable ones are full (see {@link #anyUsable()})
     */
    public Server pick(int sourceHash, Server avoid) {
        Snapshot s = snapshot;
        Balancer b = s.active().usableCount() > 0 ? s.active() : s.backup();
        Server picked = b.pick(sourceHash, avoid);
        if (picked == null && avoid != null) {
            // The server to avoid is the only candidate: trying it again beats refusing the client.
            picked = b.pick(sourceHash, null);
        }
        return picked;
    }

    /** Ends a connection that {@link #pick} gave: releases its slot in whichever snapshot holds the server now. */
    public void release(Server server) {
        Snapshot s = snapshot;
        if (s.byName().get(server.name()) == server) {
            (server.backup() ? s.backup() : s.active()).released(server);
        } else {
            server.release(); // removed or replaced: only its own counter is left to fix
        }
    }

    /**
     * The same server again, for a retry, with a slot taken: only if it is still in the current snapshot, usable and
     * not full; else null. A retry never bypasses membership (a server removed, drained or in maintenance meanwhile).
     */
    public Server reacquire(Server server) {
        Snapshot s = snapshot;
        if (s.byName().get(server.name()) != server || !server.usable() || !server.tryAcquire()) {
            return null;
        }
        return server;
    }

    /** True when at least one server (active or backup) could take connections if it had a free slot. */
    public boolean anyUsable() {
        Snapshot s = snapshot;
        return s.active().usableCount() > 0 || s.backup().usableCount() > 0;
    }

    /** Called after a server's health, admin state or weight changed (used to wake queued connections). */
    public void onStateChange(Consumer<Server> listener) {
        stateListeners.add(listener);
    }

    // ---- control plane ------------------------------------------------------------------------------------

    /** Adds a server; an existing one with the same name is an error. */
    public synchronized void addServer(Server server) {
        Snapshot s = snapshot;
        if (s.byName().containsKey(server.name())) {
            throw new IllegalArgumentException("backend '" + name + "' already has a server named '"
                + server.name() + "'");
        }
        List<Server> servers = new ArrayList<>(s.servers());
        servers.add(server);
        balancerFor(s, server).serverAdded(server);
        publish(s.version() + 1, servers, s.active(), s.backup());
        fire(server);
    }

    /** Removes a server: it gets no new connections; its live ones finish on their own. */
    public synchronized Server removeServer(String serverName) {
        Snapshot s = snapshot;
        Server server = require(s, serverName);
        List<Server> servers = new ArrayList<>(s.servers());
        servers.remove(server);
        balancerFor(s, server).serverRemoved(server);
        publish(s.version() + 1, servers, s.active(), s.backup());
        return server;
    }

    /** Changes a server's weight (0..256); 0 stops new connections, as in HAProxy. */
    public synchronized void setWeight(String serverName, int weight) {
        Snapshot s = snapshot;
        Server server = require(s, serverName);
        boolean wasUsable = server.usable();
        server.weight(weight);
        Balancer b = balancerFor(s, server);
        if (wasUsable && !server.usable()) {
            b.serverDown(server);
        } else if (!wasUsable && server.usable()) {
            b.serverUp(server);
        } else {
            b.weightChanged(server);
        }
        fire(server);
    }

    /** Sets a server's admin state (ready, drain, maint). */
    public synchronized void setAdmin(String serverName, Server.Admin admin) {
        Snapshot s = snapshot;
        Server server = require(s, serverName);
        boolean wasUsable = server.usable();
        server.admin(admin);
        notifyUsability(s, server, wasUsable);
    }

    /** Records a health transition decided by the health checker. */
    public synchronized void setUp(Server server, boolean up) {
        Snapshot s = snapshot;
        if (s.byName().get(server.name()) != server) {
            server.up(up); // no longer ours: nothing to rebalance
            return;
        }
        boolean wasUsable = server.usable();
        server.up(up);
        notifyUsability(s, server, wasUsable);
    }

    /**
     * Replaces the whole server list atomically: event loops see either the old set or the new one, never a mix.
     * Servers whose name, address, backup flag and maxconn are unchanged keep their object (and so their live
     * count, health and admin state) and take the new weight.
     */
    public synchronized void replaceServers(Collection<Server> wanted) {
        Snapshot s = snapshot;
        List<Server> servers = new ArrayList<>(wanted.size());
        for (Server w : wanted) {
            Server old = s.byName().get(w.name());
            if (old != null && old.address().equals(w.address()) && old.backup() == w.backup()
                && old.maxconn() == w.maxconn()) {
                old.weight(w.weight());
                servers.add(old);
            } else {
                servers.add(w);
            }
        }
        Snapshot next = build(s.version() + 1, servers);
        snapshot = next;
        servers.forEach(this::fire);
    }

    private void notifyUsability(Snapshot s, Server server, boolean wasUsable) {
        boolean usable = server.usable();
        if (wasUsable != usable) {
            Balancer b = balancerFor(s, server);
            if (usable) {
                b.serverUp(server);
            } else {
                b.serverDown(server);
            }
        }
        fire(server);
    }

    private void fire(Server server) {
        for (Consumer<Server> l : stateListeners) {
            l.accept(server);
        }
    }

    private Server require(Snapshot s, String serverName) {
        Server server = s.byName().get(serverName);
        if (server == null) {
            throw new IllegalArgumentException("backend '" + name + "' has no server named '" + serverName + "'");
        }
        return server;
    }

    private static Balancer balancerFor(Snapshot s, Server server) {
        return server.backup() ? s.backup() : s.active();
    }

    private void publish(long version, List<Server> servers, Balancer active, Balancer backup) {
        snapshot = new Snapshot(version, List.copyOf(servers), index(servers), active, backup);
    }

    private Snapshot build(long version, Collection<Server> servers) {
        Map<String, Server> byName = index(servers);
        List<Server> active = new ArrayList<>();
        List<Server> backup = new ArrayList<>();
        for (Server server : servers) {
            (server.backup() ? backup : active).add(server);
        }
        return new Snapshot(version, List.copyOf(servers), byName,
            Balancers.create(algorithm, hashType, active), Balancers.create(algorithm, hashType, backup));
    }

    private Map<String, Server> index(Collection<Server> servers) {
        Map<String, Server> byName = new LinkedHashMap<>();
        for (Server server : servers) {
            if (byName.put(server.name(), server) != null) {
                throw new IllegalArgumentException("backend '" + name + "' lists server '" + server.name()
                    + "' twice");
            }
        }
        return Map.copyOf(byName);
    }
}
