package dev.planetary.core.backend;

import dev.planetary.core.balance.Balancer;
import dev.planetary.core.balance.Balancers;
import dev.planetary.core.config.BalanceAlgorithm;
import dev.planetary.core.config.HashType;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A backend: an immutable, versioned {@link Snapshot} of its servers and their balancers, read by the event loops,
 * and replaced whole by its owner.
 *
 * <p><b>One owner.</b> Every change (add, remove, weight, admin state, health, replace) is a {@link BackendChange}
 * message; the owner (one control thread, e.g. the proxy's control agent) applies a batch of them with
 * {@link #apply}, which builds the next snapshot once per batch, off the event loops (a consistent-hash table is
 * changed incrementally by the new balancer, see {@link Balancer#successor}), and publishes it with one volatile
 * write. {@code apply} and the one-change shortcuts ({@link #addServer} ...) are not thread-safe: only the owner
 * calls them. A balancer that readers can see is never changed by the control plane.
 *
 * <p><b>Live counts.</b> Connection counts live in the {@link Server}s. Live connections keep the Server object they
 * were given and release it with {@link #release}, which re-reads it in the balancer of whichever snapshot holds
 * the server then; a removed or drained server simply stops getting new connections while its live ones finish.
 * A count changed through an older snapshot's balancer while a new one was being built is caught either by the
 * event loop (it re-reads the snapshot after changing the count) or by the owner (it re-reads every count after
 * publishing): both read after they write, so at least one sees the other (see {@link #apply}).
 */
public final class Backend {

    /** The servers and balancers in force; replaced whole, never mutated. */
    public record Snapshot(long version, List<Server> servers, Map<String, Server> byName, Balancer active,
                           Balancer backup) {
    }

    /** What one change did: the server it concerned (null for a replace), or the error that refused it. */
    public record Outcome(Server server, RuntimeException error) {
    }

    /**
     * What a batch did: the snapshot in force afterwards, one outcome per change in order, and the servers that
     * joined or left the backend (by identity), e.g. to start or stop their health checks.
     */
    public record Applied(Snapshot snapshot, List<Outcome> outcomes, List<Server> joined, List<Server> left) {
    }

    private final String name;
    private final BalanceAlgorithm algorithm;
    private final HashType hashType;
    private volatile Snapshot snapshot;
    private final List<Runnable> changeListeners = new CopyOnWriteArrayList<>();

    public Backend(String name, BalanceAlgorithm algorithm, HashType hashType, Collection<Server> servers) {
        this.name = Objects.requireNonNull(name, "name");
        this.algorithm = Objects.requireNonNull(algorithm, "algorithm");
        this.hashType = Objects.requireNonNull(hashType, "hashType");
        Map<String, Server> members = index(servers);
        this.snapshot = new Snapshot(0, List.copyOf(servers), Map.copyOf(members),
            Balancers.create(algorithm, hashType, group(members.values(), false)),
            Balancers.create(algorithm, hashType, group(members.values(), true)));
    }

    public String name() { return name; }
    public BalanceAlgorithm algorithm() { return algorithm; }
    public HashType hashType() { return hashType; }
    public Snapshot snapshot() { return snapshot; }
    public List<Server> servers() { return snapshot.servers(); }

    public Optional<Server> server(String serverName) {
        return Optional.ofNullable(snapshot.byName().get(serverName));
    }

    // ---- forwarding path (any thread) ---------------------------------------------------------------------

    /**
     * Picks a server for a new connection and claims a slot on it: an active server if any is usable, otherwise a
     * backup one (HAProxy uses backups only when no active server is up). Hot path: no allocation, never throws.
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
        if (picked != null) {
            settle(s, picked);
        }
        return picked;
    }

    /**
     * Takes a slot on {@code server} again (a retry to the same server), but only if it is still a member of the
     * current snapshot, usable and not full: a server removed or replaced meanwhile gets no new connection.
     *
     * @return {@code server} with one slot taken, or null
     */
    public Server reacquire(Server server) {
        Snapshot s = snapshot;
        if (s.byName().get(server.name()) != server || !balancerFor(s, server).claim(server)) {
            return null;
        }
        settle(s, server);
        return server;
    }

    /** Ends a connection that {@link #pick} or {@link #reacquire} gave, whichever snapshot holds the server now. */
    public void release(Server server) {
        server.release();
        refreshIn(snapshot, server); // read after the count changed: see the class comment
    }

    /** True when at least one server (active or backup) could take connections if it had a free slot. */
    public boolean anyUsable() {
        Snapshot s = snapshot;
        return s.active().usableCount() > 0 || s.backup().usableCount() > 0;
    }

    /** A count changed through snapshot {@code seen}'s balancer; if a newer snapshot is out, it re-reads it too. */
    private void settle(Snapshot seen, Server server) {
        Snapshot now = snapshot;
        if (now != seen) {
            refreshIn(now, server);
        }
    }

    private static void refreshIn(Snapshot s, Server server) {
        if (s.byName().get(server.name()) == server) {
            balancerFor(s, server).refresh(server);
        }
    }

    // ---- owner ----------------------------------------------------------------------------------------------

    /** Runs after every batch that published a snapshot, on the owner's thread (used to wake queued connections). */
    public void onChange(Runnable listener) {
        changeListeners.add(listener);
    }

    /**
     * Applies a batch of changes in order and publishes the resulting snapshot once (if anything changed). A change
     * that is refused (unknown server, duplicate name, bad weight) has its error in its outcome and no effect; the
     * others still apply. Only the backend's owner calls this, one batch at a time.
     *
     * <p>After publishing, every count of a server whose balancer is new is re-read by that balancer: with the event
     * loops' re-read after their own count changes ({@link #pick}, {@link #release}) this leaves no count that only
     * an older balancer saw.
     */
    public Applied apply(List<? extends BackendChange> batch) {
        Snapshot s = snapshot;
        Map<String, Server> members = new LinkedHashMap<>();
        for (Server server : s.servers()) {
            members.put(server.name(), server);
        }
        boolean[] dirty = new boolean[3]; // [active, backup, membership]
        List<Outcome> outcomes = new ArrayList<>(batch.size());
        for (BackendChange change : batch) {
            try {
                Server touched = applyOne(change, members, dirty);
                outcomes.add(new Outcome(touched, null));
            } catch (IllegalArgumentException e) {
                outcomes.add(new Outcome(null, e));
            }
        }
        if (!dirty[0] && !dirty[1]) {
            return new Applied(s, outcomes, List.of(), List.of());
        }
        List<Server> servers = List.copyOf(members.values());
        Balancer active = dirty[0] ? s.active().successor(group(servers, false)) : s.active();
        Balancer backup = dirty[1] ? s.backup().successor(group(servers, true)) : s.backup();
        Snapshot next = new Snapshot(s.version() + 1, servers, Map.copyOf(members), active, backup);
        snapshot = next;
        for (Server server : servers) {
            if (dirty[server.backup() ? 1 : 0]) {
                balancerFor(next, server).refresh(server);
            }
        }
        List<Server> joined = new ArrayList<>();
        List<Server> left = new ArrayList<>();
        if (dirty[2]) {
            Set<Server> before = identitySet(s.servers());
            Set<Server> after = identitySet(servers);
            for (Server server : servers) {
                if (!before.contains(server)) {
                    joined.add(server);
                }
            }
            for (Server server : s.servers()) {
                if (!after.contains(server)) {
                    left.add(server);
                }
            }
        }
        for (Runnable l : changeListeners) {
            l.run();
        }
        return new Applied(next, outcomes, joined, left);
    }

    private Server applyOne(BackendChange change, Map<String, Server> members, boolean[] dirty) {
        if (change instanceof BackendChange.Add add) {
            Server server = add.server();
            if (members.containsKey(server.name())) {
                throw new IllegalArgumentException("backend '" + name + "' already has a server named '"
                    + server.name() + "'");
            }
            members.put(server.name(), server);
            dirty[server.backup() ? 1 : 0] = true;
            dirty[2] = true;
            return server;
        }
        if (change instanceof BackendChange.Remove remove) {
            Server server = require(members, remove.name());
            members.remove(server.name());
            dirty[server.backup() ? 1 : 0] = true;
            dirty[2] = true;
            return server;
        }
        if (change instanceof BackendChange.Weight weight) {
            Server server = require(members, weight.name());
            server.weight(weight.weight());
            dirty[server.backup() ? 1 : 0] = true;
            return server;
        }
        if (change instanceof BackendChange.Admin admin) {
            Server server = require(members, admin.name());
            server.admin(admin.admin());
            dirty[server.backup() ? 1 : 0] = true;
            return server;
        }
        if (change instanceof BackendChange.Health health) {
            Server server = health.server();
            server.up(health.up());
            if (members.get(server.name()) == server) {
                dirty[server.backup() ? 1 : 0] = true;
            } // else: no longer ours, nothing to rebalance
            return server;
        }
        if (change instanceof BackendChange.Replace replace) {
            replace(replace, members);
            dirty[0] = true;
            dirty[1] = true;
            dirty[2] = true;
            return null;
        }
        if (change instanceof BackendChange.Relist relist) {
            relist(relist, members, dirty);
            return null;
        }
        throw new IllegalArgumentException("unknown change " + change);
    }

    private void replace(BackendChange.Replace replace, Map<String, Server> members) {
        index(replace.wanted()); // refuses duplicate names before anything changes
        Map<String, Server> next = new LinkedHashMap<>();
        for (Server w : replace.wanted()) {
            Server old = members.get(w.name());
            if (old != null && old.address().equals(w.address()) && old.backup() == w.backup()
                && old.maxconn() == w.maxconn() && old.sendProxy() == w.sendProxy()) {
                old.weight(w.weight());
                next.put(w.name(), old);
            } else {
                next.put(w.name(), w);
            }
        }
        Set<String> drain = replace.drain();
        if (drain != null) {
            // Only the registry's own flag: the operator's admin state (ready/drain/maint) is not ours to change.
            for (Server server : next.values()) {
                server.discoveryDrain(drain.contains(server.name()));
            }
        }
        members.clear();
        members.putAll(next);
    }

    /**
     * A relist: members a description keeps stay as they are (weight aside); only the rest are created. Marks
     * dirty only what changed: a relist that changes nothing leaves the snapshot and balancers as they are.
     */
    private void relist(BackendChange.Relist relist, Map<String, Server> members, boolean[] dirty) {
        Set<String> names = new java.util.HashSet<>(relist.wanted().size() * 2);
        for (BackendChange.Wanted w : relist.wanted()) {
            if (!names.add(w.name())) { // refused before anything changes, as a Replace listing a name twice
                throw new IllegalArgumentException("backend '" + name + "' lists server '" + w.name() + "' twice");
            }
        }
        Set<String> drain = relist.drain();
        boolean same = members.size() == relist.wanted().size();
        java.util.Iterator<Server> before = members.values().iterator();
        Map<String, Server> next = new LinkedHashMap<>(relist.wanted().size() * 2);
        for (BackendChange.Wanted w : relist.wanted()) {
            Server old = members.get(w.name());
            Server server;
            if (old != null && w.keeps(old)) {
                server = old;
                if (old.weight() != w.weight()) {
                    old.weight(w.weight());
                    dirty[old.backup() ? 1 : 0] = true;
                }
            } else {
                server = w.create();
                if (!server.name().equals(w.name())) {
                    throw new IllegalArgumentException("server '" + server.name() + "' created for '" + w.name() + "'");
                }
                same = false;
            }
            if (drain != null && server.discoveryDrain() != drain.contains(server.name())) {
                server.discoveryDrain(!server.discoveryDrain());
                dirty[server.backup() ? 1 : 0] = true;
            }
            same &= before.hasNext() && before.next() == server; // same members in the same order
            next.put(w.name(), server);
        }
        if (!same) {
            dirty[0] = true;
            dirty[1] = true;
            dirty[2] = true;
        }
        members.clear();
        members.putAll(next);
    }

    // ---- one-change shortcuts for the owner (tests, benchmarks, a single-threaded caller) -----------------------

    /** Adds a server; an existing one with the same name is an error. Owner only. */
    public void addServer(Server server) {
        one(new BackendChange.Add(server));
    }

    /** Removes a server: it gets no new connections; its live ones finish on their own. Owner only. */
    public Server removeServer(String serverName) {
        return one(new BackendChange.Remove(serverName));
    }

    /** Changes a server's weight (0..256); 0 stops new connections, as in HAProxy. Owner only. */
    public void setWeight(String serverName, int weight) {
        one(new BackendChange.Weight(serverName, weight));
    }

    /** Sets a server's admin state (ready, drain, maint). Owner only. */
    public void setAdmin(String serverName, Server.Admin admin) {
        one(new BackendChange.Admin(serverName, admin));
    }

    /** Records a health transition decided by the health checker. Owner only. */
    public void setUp(Server server, boolean up) {
        one(new BackendChange.Health(server, up));
    }

    /** Replaces the whole server list in one snapshot (see {@link BackendChange.Replace}). Owner only. */
    public void replaceServers(Collection<Server> wanted) {
        one(new BackendChange.Replace(List.copyOf(wanted), null));
    }

    /** Replaces the whole server list, {@code drain} drained by the registry (see {@link BackendChange.Replace}). */
    public void replaceServers(Collection<Server> wanted, Set<String> drain) {
        one(new BackendChange.Replace(List.copyOf(wanted), Objects.requireNonNull(drain, "drain")));
    }

    private Server one(BackendChange change) {
        Outcome o = apply(List.of(change)).outcomes().get(0);
        if (o.error() != null) {
            throw o.error();
        }
        return o.server();
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    private Server require(Map<String, Server> members, String serverName) {
        Server server = members.get(serverName);
        if (server == null) {
            throw new IllegalArgumentException("backend '" + name + "' has no server named '" + serverName + "'");
        }
        return server;
    }

    private static Balancer balancerFor(Snapshot s, Server server) {
        return server.backup() ? s.backup() : s.active();
    }

    private static List<Server> group(Collection<Server> servers, boolean backup) {
        List<Server> out = new ArrayList<>();
        for (Server server : servers) {
            if (server.backup() == backup) {
                out.add(server);
            }
        }
        return out;
    }

    private static Set<Server> identitySet(Collection<Server> servers) {
        Set<Server> set = Collections.newSetFromMap(new IdentityHashMap<>(servers.size() * 2));
        set.addAll(servers);
        return set;
    }

    private Map<String, Server> index(Collection<Server> servers) {
        Map<String, Server> byName = new LinkedHashMap<>();
        for (Server server : servers) {
            if (byName.put(server.name(), server) != null) {
                throw new IllegalArgumentException("backend '" + name + "' lists server '" + server.name()
                    + "' twice");
            }
        }
        return byName;
    }
}
