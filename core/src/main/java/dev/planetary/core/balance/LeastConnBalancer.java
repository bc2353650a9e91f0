package dev.planetary.core.balance;

import dev.planetary.core.backend.Server;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * {@code balance leastconn}: the usable, non-full server with the fewest active connections per unit of weight,
 * ties going to the server least recently taken or released (HAProxy's {@code lb_fwlc.c}).
 *
 * <p><b>Key.</b> A server's key is {@code load << 31 | seq}, with {@code load = active * 256 / weight} (HAProxy's
 * {@code served * SRV_EWGHT_MAX / eweight}, clamped to 32 bits) and {@code seq} the low 31 bits of a balancer-wide
 * counter taken at every update of that server. HAProxy's ebtree inserts a key after the equal keys already there,
 * so among equal loads the server that changed last goes last; the sequence number gives the same order. When it
 * wraps (after 2^31 updates) the tie order among equal loads is briefly inverted, never the load order. A server
 * that is unusable or full has key {@link Long#MAX_VALUE}.
 *
 * <p><b>Tree.</b> A tournament tree over slots: leaf keys in an {@link AtomicLongArray}, each internal node holding
 * the slot of the smaller key of its two children in an {@link AtomicIntegerArray}; the root is the answer. After
 * a connection is taken or released, the leaf is rewritten from the server's live state and the path to the root
 * is recomputed: O(log n), no locks. Concurrent updates converge because every write is followed by a validation:
 * a leaf writer re-reads the server's state after writing its key and rewrites if the load differs; a node writer
 * re-reads its children (their winners and keys) after writing and recomputes if anything changed. Every change to
 * a leaf or node is followed by a write of its parent, so the last writer of each node validated against its
 * children's final values and the tree is exact whenever updates pause.
 *
 * <p><b>Picking.</b> Read the root's slot; claim it with {@link Server#tryAcquire()} (a CAS that honours maxconn).
 * If it is full or became unusable before its callback arrived, its leaf is refreshed (to MAX) and the root read
 * again. If the root is {@code avoid}, the best other server is the minimum over the winners of the siblings along
 * avoid's path, also O(log n). Attempts are bounded by the server count.
 *
 * <p><b>Membership.</b> Adding or removing a server rebuilds the arrays from {@link Server#active()} (the truth)
 * and publishes them whole; {@link Server#slot()} then gives a server's leaf in O(1). Updates that race a rebuild
 * are replayed on the new tree, and the builder re-validates every leaf after publishing, so none is lost. A
 * Server object must belong to one live leastconn balancer at a time (the slot field is single).
 */
public final class LeastConnBalancer implements Balancer {

    /** HAProxy's load scale: {@code SRV_EWGHT_MAX / BE_WEIGHT_SCALE}, the largest weight. */
    static final long SCALE = 256;
    static final int SEQ_BITS = 31;
    static final long SEQ_MASK = (1L << SEQ_BITS) - 1;
    /** Loads are clamped below this so that no real key equals {@link #UNAVAILABLE}; 16M connections at weight 1. */
    static final long LOAD_MAX = (1L << 32) - 2;
    static final long UNAVAILABLE = Long.MAX_VALUE;
    /** How often an update racing a membership rebuild is replayed on the newer tree (rebuilds are rare). */
    private static final int REPLAYS = 4;

    private final AtomicLong seq = new AtomicLong();
    private final List<Server> members = new ArrayList<>();
    private volatile Tree tree;
    private volatile int usable;

    public LeastConnBalancer(List<Server> servers) {
        members.addAll(Balancers.distinct(servers));
        rebuild();
    }

    @Override
    public Server pick(int sourceHash, Server avoid) {
        Tree t = tree;
        for (int attempt = 0; attempt <= t.n; attempt++) {
            int s = t.win.get(1);
            if (t.keys.get(s) == UNAVAILABLE) {
                break; // all full or unusable, or a racing update left the root stale for a moment: scan
            }
            Server srv = t.servers[s];
            if (srv == avoid) {
                s = t.bestExcluding(s);
                if (s < 0) {
                    return null;
                }
                srv = t.servers[s];
            }
            if (srv.usable() && srv.tryAcquire()) {
                refresh(t, s, srv);
                if (tree != t) {
                    touch(srv);
                }
                return srv;
            }
            refresh(t, s, srv);
        }
        return scan(t, avoid);
    }

    /**
     * The slow path: the least loaded claimable server by its live state, O(n). Taken only when the tree offers
     * nothing, so that a tree caught mid-update by other threads never turns a client away.
     */
    private Server scan(Tree t, Server avoid) {
        for (int attempt = 0; attempt < 4; attempt++) {
            int best = -1;
            long bestKey = UNAVAILABLE;
            for (int i = 0; i < t.n; i++) {
                Server srv = t.servers[i];
                if (srv != avoid) {
                    long k = key(srv, 0);
                    if (k < bestKey) {
                        bestKey = k;
                        best = i;
                    }
                }
            }
            if (best < 0) {
                return null;
            }
            Server srv = t.servers[best];
            if (srv.tryAcquire()) {
                refresh(t, best, srv);
                return srv;
            }
        }
        return null;
    }

    @Override
    public boolean claim(Server server) {
        if (server.usable() && server.tryAcquire()) {
            touch(server);
            return true;
        }
        return false;
    }

    @Override
    public void released(Server server) {
        server.release();
        touch(server);
    }

    @Override
    public void serverUp(Server server) {
        touch(server);
        countUsable();
    }

    @Override
    public void serverDown(Server server) {
        touch(server);
        countUsable();
    }

    @Override
    public void weightChanged(Server server) {
        touch(server);
        countUsable();
    }

    @Override
    public void serverAdded(Server server) {
        if (!members.contains(server)) {
            members.add(server);
            rebuild();
        }
    }

    @Override
    public void serverRemoved(Server server) {
        if (members.remove(server)) {
            rebuild();
            if (server.slot() >= 0 && !tree.holds(server.slot(), server)) {
                server.slot(-1);
            }
        }
    }

    @Override
    public int usableCount() {
        return usable;
    }

    /** True if every node holds the winner of its children and every leaf matches its server: for tests. */
    boolean consistent() {
        Tree t = tree;
        for (int i = 0; i < t.n; i++) {
            if (load(t.keys.get(i)) != load(key(t.servers[i], 0))) {
                return false;
            }
        }
        for (int node = t.cap - 1; node >= 1; node--) {
            int l = t.winner(2 * node);
            int r = t.winner(2 * node + 1);
            if (t.win.get(node) != (t.keys.get(r) < t.keys.get(l) ? r : l)) {
                return false;
            }
        }
        return true;
    }

    /** Rewrites a server's leaf in the current tree, replaying on a newer tree if one was published meanwhile. */
    private void touch(Server srv) {
        for (int i = 0; i < REPLAYS; i++) {
            Tree t = tree;
            int slot = srv.slot();
            if (t.holds(slot, srv)) {
                refresh(t, slot, srv);
            }
            if (tree == t) {
                return;
            }
        }
    }

    private void refresh(Tree t, int slot, Server srv) {
        for (;;) {
            long k = key(srv, seq.getAndIncrement());
            t.keys.set(slot, k);
            if (load(key(srv, 0)) == load(k)) {
                break;
            }
        }
        t.propagate(slot);
    }

    private void rebuild() {
        Tree t = new Tree(members.toArray(new Server[0]));
        for (int i = 0; i < t.n; i++) {
            t.servers[i].slot(i);
            t.keys.set(i, key(t.servers[i], seq.getAndIncrement()));
        }
        t.init();
        tree = t;
        // Connections taken or released between reading active() above and publishing went to the old tree.
        for (int i = 0; i < t.n; i++) {
            Server s = t.servers[i];
            if (load(t.keys.get(i)) != load(key(s, 0))) {
                refresh(t, i, s);
            }
        }
        countUsable();
    }

    private void countUsable() {
        int c = 0;
        for (Server s : members) {
            if (s.usable()) {
                c++;
            }
        }
        usable = c;
    }

    /** The key of a server's current state with the given sequence number. */
    static long key(Server s, long sequence) {
        int w = s.weight();
        if (w <= 0 || !s.usable() || s.full()) {
            return UNAVAILABLE;
        }
        long load = Math.min(LOAD_MAX, Math.max(0, s.active()) * SCALE / w);
        return (load << SEQ_BITS) | (sequence & SEQ_MASK);
    }

    /** The load part of a key, -1 for {@link #UNAVAILABLE}. */
    static long load(long key) {
        return key == UNAVAILABLE ? -1 : key >>> SEQ_BITS;
    }

    /** One published tournament tree; only its atomic arrays change after publication. */
    static final class Tree {
        final Server[] servers;
        final int n;
        /** Number of leaves, a power of two >= 2; internal nodes are 1..cap-1, node i's children 2i and 2i+1. */
        final int cap;
        /** Leaf keys by slot; slots n..cap-1 are padding and stay {@link #UNAVAILABLE}. */
        final AtomicLongArray keys;
        /** Winning slot of each internal node. */
        final AtomicIntegerArray win;

        Tree(Server[] servers) {
            this.servers = servers;
            this.n = servers.length;
            this.cap = Math.max(2, Integer.highestOneBit(Math.max(1, n - 1)) << 1);
            this.keys = new AtomicLongArray(cap);
            this.win = new AtomicIntegerArray(cap);
            for (int i = n; i < cap; i++) {
                keys.set(i, UNAVAILABLE);
            }
        }

        void init() {
            for (int node = cap - 1; node >= 1; node--) {
                int l = winner(2 * node);
                int r = winner(2 * node + 1);
                win.set(node, keys.get(r) < keys.get(l) ? r : l);
            }
        }

        boolean holds(int slot, Server srv) {
            return slot >= 0 && slot < n && servers[slot] == srv;
        }

        int winner(int node) {
            return node >= cap ? node - cap : win.get(node);
        }

        void propagate(int slot) {
            // Always up to the root: stopping early where a node's winner looked unchanged lost updates that raced
            // a concurrent writer of a sibling subtree (a stale node after quiescence, seen in CI). Unchanged
            // winners cost a read, not a store.
            for (int node = (slot + cap) >>> 1; node >= 1; node >>>= 1) {
                recompute(node, slot);
            }
        }

        /**
         * Recomputes a node after a change below it and validates; returns false when the node's winner was
         * already right and is not {@code slot}, so nothing above depends on this change (the usual case for a
         * release). The store, a full fence, is skipped when the value is already right: the re-read of the
         * children after reading it proves it right at that moment, as a write would have.
         */
        private boolean recompute(int node, int slot) {
            int left = 2 * node;
            int right = left + 1;
            for (;;) {
                int l = winner(left);
                int r = winner(right);
                long kl = keys.get(l);
                long kr = keys.get(r);
                int w = kr < kl ? r : l;
                int old = win.get(node);
                if (old != w) {
                    win.set(node, w);
                }
                if (winner(left) == l && winner(right) == r && keys.get(l) == kl && keys.get(r) == kr) {
                    return old != w || w == slot;
                }
            }
        }

        /** The slot with the smallest key other than {@code excluded}, or -1 if all others are unavailable. */
        int bestExcluding(int excluded) {
            int best = -1;
            long bestKey = UNAVAILABLE;
            for (int node = excluded + cap; node > 1; node >>>= 1) {
                int w = winner(node ^ 1);
                long k = keys.get(w);
                if (k < bestKey) {
                    bestKey = k;
                    best = w;
                }
            }
            return best;
        }
    }
}
