package dev.planetary.core.balance;

import dev.planetary.core.backend.Server;
import java.util.List;

/**
 * {@code balance leastconn}: the usable, non-full server with the fewest active connections per unit of weight,
 * ties going to the server least recently taken or released (HAProxy's {@code lb_fwlc.c}).
 *
 * <p><b>Key.</b> A server's key is {@code load << 31 | seq}, with {@code load = active * 256 / weight} (HAProxy's
 * {@code served * SRV_EWGHT_MAX / eweight}, clamped to 32 bits) and {@code seq} the low 31 bits of a balancer-wide
 * counter taken at every update of that server. HAProxy's ebtree inserts a key after the equal keys already there,
 * so among equal loads the server that changed last goes last; the sequence number gives the same order. When it
 * wraps (after 2^31 updates) the tie order among equal loads is briefly inverted, never the load order. A server
 * that is unusable or full has key {@link #UNAVAILABLE}.
 *
 * <p><b>Structure: a binary min-heap of keys under one short lock</b>, as HAProxy keeps its tree under the
 * backend's lock. Every operation (pick, claim, release, refresh, control callbacks) takes the lock, reads the live
 * state of the servers it touches ({@link Server#active()}, usability, weight) and restores the heap in O(log n)
 * with no allocation. Why this is right is local: the heap is only changed under the lock, and an update always
 * recomputes a key from the server's live state at that moment, so after the last update of a server its key
 * matches its state. Connection counts live in the {@link Server}s (atomics), not here: a balancer built for a new
 * snapshot reads them, and {@link #refresh} re-reads one that changed through another snapshot's balancer.
 *
 * <p><b>Picking.</b> The root is the candidate (or, when it is {@code avoid}, the smaller of its children). Before
 * claiming it the key is checked against the live state: a server that filled up or went unusable since its last
 * update is re-keyed and the pick looks again, at most {@code n + 1} times; claiming is {@link Server#tryAcquire()}
 * (a CAS that honours maxconn). Membership is fixed per instance for the backend's snapshots ({@link #successor},
 * which keeps every remaining server's place among equal loads and puts new ones after them, as HAProxy inserts a
 * new key after the equal ones); the add/remove callbacks for direct use rebuild the arrays under the lock.
 */
public final class LeastConnBalancer implements Balancer {

    /** HAProxy's load scale: {@code SRV_EWGHT_MAX / BE_WEIGHT_SCALE}, the largest weight. */
    static final long SCALE = 256;
    static final int SEQ_BITS = 31;
    static final long SEQ_MASK = (1L << SEQ_BITS) - 1;
    /** Loads are clamped below this so that no real key equals {@link #UNAVAILABLE}; 16M connections at weight 1. */
    static final long LOAD_MAX = (1L << 32) - 2;
    static final long UNAVAILABLE = Long.MAX_VALUE;

    private final Object lock = new Object();

    // Guarded by lock.
    private long seq;
    private Server[] servers;
    /** Server to its index in {@link #servers}: identity, no back-pointer from the model into this balancer. */
    private IdentityIndex index;
    /** Key of each server, by index. */
    private long[] keys;
    /** The heap: heap[0] is the index of the smallest key; the children of position p are 2p+1 and 2p+2. */
    private int[] heap;
    /** Position in {@link #heap} of each server, by index. */
    private int[] pos;

    private volatile int usable;

    public LeastConnBalancer(List<Server> servers) {
        synchronized (lock) {
            build(Balancers.distinct(servers).toArray(new Server[0]), null, null);
        }
    }

    /** The successor of {@code prev}: servers it had keep their place among equal loads, new ones come after. */
    private LeastConnBalancer(List<Server> servers, LeastConnBalancer prev) {
        Server[] members = Balancers.distinct(servers).toArray(new Server[0]);
        IdentityIndex prevIndex;
        long[] prevKeys;
        long prevSeq;
        // The live balancer's lock is the event loops' short lock: hold it only to copy its keys (their tie order),
        // not for the O(n) build. Its index map is replaced, never changed, so the reference is enough.
        synchronized (prev.lock) {
            prevSeq = prev.seq;
            prevIndex = prev.index;
            prevKeys = prev.keys.clone();
        }
        synchronized (lock) {
            this.seq = prevSeq;
            build(members, prevIndex, prevKeys);
        }
    }

    @Override
    public Server pick(int sourceHash, Server avoid) {
        synchronized (lock) {
            int n = servers.length;
            for (int attempt = 0; attempt <= n; attempt++) {
                int i = candidate(avoid);
                if (i < 0 || keys[i] == UNAVAILABLE) {
                    return null;
                }
                Server s = servers[i];
                long live = key(s, 0);
                if (load(live) == load(keys[i]) && s.tryAcquire()) {
                    update(i);
                    return s;
                }
                update(i); // filled up or went unusable since its last update (or just lost the CAS): look again
            }
            return null;
        }
    }

    /** The root, or the best of its children when the root is {@code avoid}; -1 if there is none. */
    private int candidate(Server avoid) {
        int n = servers.length;
        if (n == 0) {
            return -1;
        }
        int root = heap[0];
        if (servers[root] != avoid) {
            return root;
        }
        int best = -1;
        for (int p = 1; p <= 2 && p < n; p++) {
            int c = heap[p];
            if (best < 0 || keys[c] < keys[best]) {
                best = c;
            }
        }
        return best;
    }

    @Override
    public boolean claim(Server server) {
        synchronized (lock) {
            int i = index.get(server);
            if (i < 0 || !server.usable() || !server.tryAcquire()) {
                return false;
            }
            update(i);
            return true;
        }
    }

    /**
     * Re-keys the server if its load differs from its key's (a count changed through another snapshot's balancer,
     * or a release); an unchanged load keeps its place among equal loads.
     */
    @Override
    public void refresh(Server server) {
        synchronized (lock) {
            int i = index.get(server);
            if (i >= 0 && load(key(server, 0)) != load(keys[i])) {
                update(i);
            }
        }
    }

    @Override
    public void serverUp(Server server) {
        stateChanged(server);
    }

    @Override
    public void serverDown(Server server) {
        stateChanged(server);
    }

    @Override
    public void weightChanged(Server server) {
        stateChanged(server);
    }

    private void stateChanged(Server server) {
        synchronized (lock) {
            int i = index.get(server);
            if (i >= 0) {
                update(i);
            }
            countUsable();
        }
    }

    @Override
    public void serverAdded(Server server) {
        synchronized (lock) {
            if (index.get(server) < 0) {
                Server[] next = java.util.Arrays.copyOf(servers, servers.length + 1);
                next[servers.length] = server;
                build(next, index, keys);
            }
        }
    }

    @Override
    public void serverRemoved(Server server) {
        synchronized (lock) {
            int i = index.get(server);
            if (i >= 0) {
                Server[] next = new Server[servers.length - 1];
                System.arraycopy(servers, 0, next, 0, i);
                System.arraycopy(servers, i + 1, next, i, servers.length - i - 1);
                build(next, index, keys);
            }
        }
    }

    @Override
    public Balancer successor(List<Server> servers) {
        return new LeastConnBalancer(servers, this);
    }

    @Override
    public int usableCount() {
        return usable;
    }

    /** True if this balancer holds the server: for tests. */
    boolean holds(Server server) {
        synchronized (lock) {
            return index.get(server) >= 0;
        }
    }

    /**
     * True if every key's load matches its server's live state and the heap is a valid heap with consistent
     * positions: for tests.
     */
    boolean consistent() {
        synchronized (lock) {
            int n = servers.length;
            for (int i = 0; i < n; i++) {
                if (load(keys[i]) != load(key(servers[i], 0)) || heap[pos[i]] != i) {
                    return false;
                }
            }
            for (int p = 1; p < n; p++) {
                if (keys[heap[(p - 1) / 2]] > keys[heap[p]]) {
                    return false;
                }
            }
            return true;
        }
    }

    // ---- under the lock ---------------------------------------------------------------------------------------

    /**
     * @param oldIndex the previous index of servers that keep their tie order (with {@code oldKeys}), or null
     * @param oldKeys  the previous keys by that index
     */
    private void build(Server[] members, IdentityIndex oldIndex, long[] oldKeys) {
        int n = members.length;
        IdentityIndex idx = new IdentityIndex(members);
        long[] k = new long[n];
        int[] h = new int[n];
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            int old = oldIndex == null ? -1 : oldIndex.get(members[i]);
            long before = old < 0 ? UNAVAILABLE : oldKeys[old];
            k[i] = key(members[i], before != UNAVAILABLE ? before & SEQ_MASK : seq++);
            h[i] = i;
            p[i] = i;
        }
        servers = members;
        index = idx;
        keys = k;
        heap = h;
        pos = p;
        for (int q = n / 2 - 1; q >= 0; q--) {
            siftDown(q);
        }
        countUsable();
    }

    /** Re-keys server {@code i} from its live state and restores the heap. */
    private void update(int i) {
        long old = keys[i];
        long k = key(servers[i], seq++);
        keys[i] = k;
        if (k < old) {
            siftUp(pos[i]);
        } else {
            siftDown(pos[i]);
        }
    }

    private void siftUp(int p) {
        int i = heap[p];
        long k = keys[i];
        while (p > 0) {
            int parent = (p - 1) >>> 1;
            int j = heap[parent];
            if (keys[j] <= k) {
                break;
            }
            heap[p] = j;
            pos[j] = p;
            p = parent;
        }
        heap[p] = i;
        pos[i] = p;
    }

    private void siftDown(int p) {
        int n = servers.length;
        int i = heap[p];
        long k = keys[i];
        for (;;) {
            int c = 2 * p + 1;
            if (c >= n) {
                break;
            }
            if (c + 1 < n && keys[heap[c + 1]] < keys[heap[c]]) {
                c++;
            }
            int j = heap[c];
            if (k <= keys[j]) {
                break;
            }
            heap[p] = j;
            pos[j] = p;
            p = c;
        }
        heap[p] = i;
        pos[i] = p;
    }

    private void countUsable() {
        int c = 0;
        for (Server s : servers) {
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
}
