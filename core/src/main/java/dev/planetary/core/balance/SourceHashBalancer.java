package dev.planetary.core.balance;

import dev.planetary.core.backend.Server;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * {@code balance source} with {@code hash-type consistent}: weighted rendezvous (HRW) hashing of the client address,
 * precomputed into a table of {@code B = 2^22} buckets.
 *
 * <p><b>Mapping.</b> A client goes to bucket {@code fmix32(sourceHash) & (B-1)}. Each bucket belongs to the server
 * with the smallest score {@code E(server, bucket) = -ln(1 - V) / weight}, where {@code V} is uniform in [0,1) and
 * derived only from the server's name key and the bucket (ties, which need equal 24-bit float scores, go to the
 * smaller name key). E is an exponential variable of rate {@code weight}, so a server wins a bucket with
 * probability {@code weight / total weight}, and the owner of a bucket is a function of the set of servers alone:
 * <ul>
 *   <li>adding a server moves only the buckets it now wins, to it (about 1/N of them); removing one moves only its
 *       own buckets, spread over the others by their weights; no other bucket changes;</li>
 *   <li>any two processes with the same server names and weights build the same table whatever the order the
 *       servers were listed or added in; every step is integer or strict IEEE arithmetic, with {@link Hashing#negLog}
 *       in place of {@code Math.log}, so JVMs and CPUs agree bit for bit;</li>
 *   <li>with 100 equal servers each owns 41,943 buckets on average (standard deviation 0.5%), so the spread over
 *       clients is dominated by the clients' own randomness.</li>
 * </ul>
 * Servers that go down, are drained or put in maintenance, or get weight 0 leave the table (as in HAProxy's
 * {@code lb_chash.c}) and come back, with the same buckets, when they are usable again.
 *
 * <p><b>Why not Maglev or a ring.</b> Maglev's table fill is a sequential race between servers' preference lists,
 * so removing a server also swaps some buckets between surviving servers, which the "none of the others move"
 * requirement forbids; a hash ring is exactly consistent but needs thousands of virtual nodes per server to get
 * within a few percent of the mean, and 10,000 servers would make the ring tens of millions of points. HRW gives
 * both properties exactly; the table turns its O(n) lookup into one array read.
 *
 * <p><b>Building fast.</b> Computing every score is {@code B * n} (4e10 at 10,000 servers). Instead {@code V} is
 * made enumerable in increasing order: buckets are cut into chunks of {@code K = 2^16}, and in each chunk a server's
 * {@code V} is {@code (rank + jitter) / K}, where {@code rank} is the bucket's position in a keyed pseudo-random
 * permutation of the chunk (a 3-round Feistel network over 16 bits, round keys from the server key and chunk) and
 * the jitter a hash in [0,1). For a fixed bucket each server's rank is uniform and independent of other servers',
 * so V is uniform; and a server's buckets with {@code V < p} are simply the images of ranks {@code 0..pK-1}.
 * <ul>
 *   <li>Full build: pick a threshold {@code T} with {@code T * total weight = x = max(2, ln n - 1)} expected
 *       candidates per bucket, enumerate each server's ranks scoring below {@code T} (in four layers of increasing
 *       score, so that most late candidates are rejected by the rank alone), keep the minimum per bucket, then
 *       score every server directly at the few buckets (about {@code B e^-x}) whose best is not provably below
 *       every unenumerated score. Chunks are independent and built in parallel (common fork-join pool, on the
 *       control thread's behalf). Measured on a shared 2-core box: 0.2 s at 100 servers, 0.3-0.5 s at 10,000.</li>
 *   <li>Adding a server: per chunk, only its ranks whose score can beat the chunk's largest current score
 *       (about {@code 10 B / n} scores, 10 ms at 10,000 servers).</li>
 *   <li>Removing a server (or it going down): its own buckets, each rescored over the remaining servers: about
 *       {@code B} scores, 40-60 ms.</li>
 * </ul>
 * Every shortcut only skips candidates proven to lose (with a 1e-6 relative margin), so all paths produce the same
 * table as the brute-force argmin. Builds run on the control thread, in the builder's own {@code char[]} of slot
 * indices (8 MiB) and winning scores (16 MiB), changed in place and never seen by readers; a batch that changed
 * the table publishes a flat copy or copies of its changed pages (one volatile write; see below), nothing when it
 * changed nothing. Each page of 256 buckets and each chunk keeps an upper bound of its scores, so an addition reads
 * only the bound of each chunk instead of every bucket's score (it used to read all 16 MiB per addition); bounds
 * are tightened for the pages a batch changed.
 *
 * <p><b>Published as a flat base plus pages, copied on write.</b> Readers see an immutable flat table (the base)
 * and an immutable array of pages of 256 slots (the bound pages above, so the builder's dirty bits name them) that
 * override it where not null. A batch that changes few pages publishes a new outer array (64 KiB at 4M buckets)
 * sharing the base and the previous pages, with fresh copies of the pages it changed (a page whose slots are the
 * base's again, say a server down and up again, goes back to the base); a full build, a batch changing more than
 * {@code 1/PAGED_MAX_DIVISOR} of the pages, or copies covering nearly all of the table publish one flat copy. Why:
 * an 8 MiB array is over half of eden with the launcher's {@code -Xmn16m}, so ParallelGC puts each flat copy straight
 * into the old generation, where it is garbage at the next one (measured, 256 MB heap, 2,000 servers, one server in
 * or out per batch: old generation +7.55 MB per batch flat, +0.29 MB as pages; a full collection of 0.5-0.9 s came
 * every dozen whole-swarm relists); but live pages are copied by every young collection until they are old, which
 * for most of the table costs more than one flat copy (five servers out and five in, 73% of the pages: 23 young
 * collections, 121 ms, as pages against 10, 35 ms, flat). Pages are small because a server's buckets are spread over
 * the whole table: one server of 2,000 changes about 2,100 buckets, 12% of 256-slot pages but every 64 KiB page.
 * The price: a pick does one more dependent load (the page reference) and a branch; up to twice the table's memory.
 *
 * <p><b>Picking.</b> One mix, the page reference, then the slot from the page or the base (for random clients a
 * cache and TLB miss into the 8 MiB table; huge pages help). If the bucket's server is full, not usable yet (its
 * callback has not arrived) or {@code avoid}, up to {@code PROBES} further buckets are tried along a stride
 * derived from the hash (deterministic per client and weight-proportional), then every server once; null if none
 * fits.
 */
public final class SourceHashBalancer implements Balancer {

    /** 4M buckets: about 420 per server at 10,000 servers, 42,000 (0.5% deviation) at 100. */
    public static final int DEFAULT_TABLE_BITS = 22;
    static final int MIN_TABLE_BITS = 8;
    static final int MAX_TABLE_BITS = 26;
    /** Chunk of buckets sharing one permutation per server: its scores (256 KiB) stay in cache while built. */
    private static final int MAX_CHUNK_BITS = 16;
    /** Slots are stored as chars; 0xFFFF marks an empty bucket, so at most 65,535 servers hold buckets. */
    static final int MAX_SERVERS = 0xFFFF;
    private static final char NONE = 0xFFFF;
    /** Further buckets tried when a client's server is full or avoided, before scanning all servers. */
    private static final int PROBES = 8;
    /** Relative margin for proofs that a candidate loses; far above the 1e-12 error of negLog and float rounding. */
    private static final double MARGIN = 1e-6;
    private static final long SALT = 0x5851f42d4c957f2dL;
    /** Score layers of the full build, as fractions of its threshold. */
    private static final double[] LAYERS = {0.125, 0.25, 0.5, 1};
    /** Parallel tasks of a full build: enough to keep every core of a big box busy as chunks finish unevenly. */
    private static final int BUILD_TASKS = 4 * Runtime.getRuntime().availableProcessors();
    private static final Snapshot EMPTY = new Snapshot(null, null, new Server[0], new Server[0]);
    /**
     * Buckets per bound page: 256, so that tightening the bounds after a batch reads about 512 KiB of scores per
     * server added to 2,000 (its ~2,100 buckets land in ~2,000 pages), not the whole 16 MiB. Never above the
     * smallest chunk ({@link #MIN_TABLE_BITS}).
     */
    private static final int PAGE_BITS = 8;
    private static final int PAGE = 1 << PAGE_BITS;
    /** Slot of a bucket within its published page (pages of the published table are the bound pages). */
    private static final int PAGE_MASK = PAGE - 1;
    /**
     * A batch that changes more than this fraction of the pages ({@code 1/4}: 2 MiB of copies at 4M buckets) publishes
     * one flat copy instead of pages: young collections copy live pages until they are old, which for most of the
     * table costs more than a flat copy costs the old generation (see the class comment). One server in or out of
     * 2,000 changes 12% of the pages.
     */
    private static final int PAGED_MAX_DIVISOR = 4;
    /**
     * Pages held as copies over the base are folded into a new flat copy once more than all but {@code 1/4} of the
     * pages would be copies: without it one-server batches leave the whole table copied (92% after 20 at 2,000
     * servers) and twice its memory live; with it a flat copy comes every ~11 one-server batches instead of every one.
     */
    private static final int COPIED_MAX_DIVISOR = 4;

    private final int tableBits;
    private final int tableMask;
    private final int chunkBits;
    private final int chunkSize;
    private final int chunks;
    private final int half;
    private final int halfMask;
    private final int roundShift;
    private final double invChunk;

    /**
     * A batch that costs more than this many removals is built from scratch instead: a removal rescores about
     * {@code B} buckets (40-60 ms), a full build costs about as much as six of them at 2,000 to 10,000 servers
     * (0.2-0.5 s, measured on a shared 2-core box).
     */
    private static final double FULL_BUILD_REMOVALS = 6;
    /** An addition in removals: it reads every bucket's best score once and scores few (about 9 ms at 10,000). */
    private static final double ADD_IN_REMOVALS = 0.2;

    // Control-thread state, handed over to the successor (see successor()).
    private Set<Server> members = Collections.newSetFromMap(new IdentityHashMap<>());
    private Map<Server, Node> placed = new IdentityHashMap<>();
    private BitSet usedSlots = new BitSet();
    private Node[] bySlot = new Node[16];
    /** Winning score of each bucket, +inf if empty; null while no server is placed. */
    private float[] best;
    /** Slot owning each bucket: the builder's own, changed in place; readers see copies of its pages. */
    private char[] owner;
    /** Flat table last published (held by {@link #snap}); never written. Null while nothing is published. */
    private char[] base;
    /** Pages last published over {@link #base} (null entries: the base's); never written, nor is the outer array. */
    private char[][] pages;
    /** Non-null entries of {@link #pages}: pages held as copies over the base. */
    private int copied;
    /** Pages of {@link #owner} changed since the last publication (one bit each), unless {@link #allDirty}. */
    private long[] dirty;
    private boolean allDirty = true;
    /** True while an incremental change writes {@link #owner}: offers mark their page dirty (never in parallel). */
    private boolean tracking;
    /** Per page and per chunk, an upper bound of {@link #best} (exact after a build or a publication). */
    private float[] pageMax;
    private float[] chunkMax;
    /**
     * False while the bounds are +inf placeholders: a table begun empty and filled by additions (the last server
     * left, or none yet) has no build that computed them; the next publication computes them all once. Without
     * that, every later addition would score all buckets (correct, but the pruning lost for good).
     */
    private boolean boundsExact;
    /** Per-chunk constants of the round keys: {@code mix64(chunk, round)}, four per chunk. */
    private final long[] chunkSalt;

    private volatile Snapshot snap = EMPTY;

    public SourceHashBalancer(List<Server> servers) {
        this(servers, DEFAULT_TABLE_BITS);
    }

    /** @param tableBits log2 of the bucket count; the mapping depends on it, so all processes must agree */
    public SourceHashBalancer(List<Server> servers, int tableBits) {
        if (tableBits < MIN_TABLE_BITS || tableBits > MAX_TABLE_BITS) {
            throw new IllegalArgumentException("tableBits must be " + MIN_TABLE_BITS + ".." + MAX_TABLE_BITS);
        }
        this.tableBits = tableBits;
        this.tableMask = (1 << tableBits) - 1;
        this.chunkBits = Math.min(MAX_CHUNK_BITS, tableBits & ~1);
        this.chunkSize = 1 << chunkBits;
        this.chunks = 1 << (tableBits - chunkBits);
        this.half = chunkBits / 2;
        this.halfMask = (1 << half) - 1;
        this.roundShift = 64 - half;
        this.invChunk = 1.0 / chunkSize;
        this.chunkSalt = new long[chunks * 4];
        int pageCount = 1 << (tableBits - PAGE_BITS);
        this.dirty = new long[(pageCount + 63) >>> 6];
        this.pageMax = new float[pageCount];
        this.chunkMax = new float[chunks];
        for (int i = 0; i < chunkSalt.length; i++) {
            chunkSalt[i] = Hashing.mix64(i + SALT);
        }
        for (Server s : Balancers.distinct(servers)) {
            members.add(s);
            int w = s.weight();
            if (s.usable() && w > 0) {
                place(s, w);
            }
        }
        fullBuild();
        publish();
    }

    /** The successor of {@code prev}: takes over its build state; serves prev's table until it publishes its own. */
    private SourceHashBalancer(SourceHashBalancer prev) {
        this.tableBits = prev.tableBits;
        this.tableMask = prev.tableMask;
        this.chunkBits = prev.chunkBits;
        this.chunkSize = prev.chunkSize;
        this.chunks = prev.chunks;
        this.half = prev.half;
        this.halfMask = prev.halfMask;
        this.roundShift = prev.roundShift;
        this.invChunk = prev.invChunk;
        this.chunkSalt = prev.chunkSalt;
        this.members = prev.members;
        this.placed = prev.placed;
        this.usedSlots = prev.usedSlots;
        this.bySlot = prev.bySlot;
        this.best = prev.best;
        this.owner = prev.owner;
        this.base = prev.base;
        this.pages = prev.pages;
        this.copied = prev.copied;
        this.dirty = prev.dirty;
        this.allDirty = prev.allDirty;
        this.pageMax = prev.pageMax;
        this.chunkMax = prev.chunkMax;
        this.boundsExact = prev.boundsExact;
        this.snap = prev.snap;
        // prev keeps serving its published table, and nothing else: control calls on it now fail loudly
        prev.members = null;
        prev.placed = null;
        prev.usedSlots = null;
        prev.bySlot = null;
        prev.best = null;
        prev.owner = null;
        prev.base = null;
        prev.pages = null;
        prev.dirty = null;
        prev.pageMax = null;
        prev.chunkMax = null;
    }

    /**
     * The next snapshot's table, changed incrementally from this one's: every server that left, went unusable or
     * changed weight is removed, then every new or changed one added, in the builder's own table, published once
     * per batch (not once per change); a batch that changes much is built from scratch instead. The same buckets result either
     * way (the table is a function of the usable servers and their weights).
     */
    @Override
    public Balancer successor(List<Server> servers) {
        List<Server> list = Balancers.distinct(servers);
        int usable = 0;
        for (Server s : list) {
            if (s.usable() && s.weight() > 0) {
                usable++;
            }
        }
        if (usable > MAX_SERVERS) { // refused before this balancer's build state is handed over
            throw new IllegalArgumentException("source-consistent supports at most " + MAX_SERVERS + " servers");
        }
        SourceHashBalancer next = new SourceHashBalancer(this);
        next.reconcileAll(list);
        return next;
    }

    private void reconcileAll(List<Server> list) {
        members.clear();
        members.addAll(list);
        List<Node> gone = new ArrayList<>();
        for (Node node : placed.values()) {
            Server s = node.server;
            int w = s.weight();
            if (!members.contains(s) || !s.usable() || w <= 0 || node.weight != w) {
                gone.add(node);
            }
        }
        List<Server> come = new ArrayList<>();
        for (Server s : list) {
            int w = s.weight();
            if (s.usable() && w > 0) {
                Node node = placed.get(s);
                if (node == null || node.weight != w) {
                    come.add(s);
                }
            }
        }
        if (gone.isEmpty() && come.isEmpty()) {
            return;
        }
        if (gone.size() + come.size() * ADD_IN_REMOVALS > FULL_BUILD_REMOVALS) {
            for (Node node : gone) {
                unplace(node);
            }
            for (Server s : come) {
                place(s, s.weight());
            }
            fullBuild();
            publish();
            return;
        }
        char[] work = owner;
        tracking = true;
        for (Node node : gone) {
            unplace(node);
            if (placed.isEmpty()) {
                work = null;
                best = null;
            } else {
                removeNode(node, work);
            }
        }
        for (Server s : come) {
            Node added = place(s, s.weight());
            work = workTable(work);
            addNode(added, work);
        }
        tracking = false;
        owner = work;
        publish();
    }

    @Override
    public Server pick(int sourceHash, Server avoid) {
        Snapshot s = snap;
        if (s.pages == null) {
            return null;
        }
        Server[] slots = s.bySlot;
        int h = Hashing.mix32(sourceHash);
        int b = h & tableMask;
        int slot = s.slot(b);
        if (slot != NONE) {
            Server srv = slots[slot];
            if (srv != avoid && srv.usable() && srv.tryAcquire()) {
                return srv;
            }
        }
        int stride = Hashing.mix32(h) | 1;
        for (int p = 0; p < PROBES; p++) {
            b = (b + stride) & tableMask;
            slot = s.slot(b);
            if (slot != NONE) {
                Server srv = slots[slot];
                if (srv != avoid && srv.usable() && srv.tryAcquire()) {
                    return srv;
                }
            }
        }
        Server[] list = s.list;
        int n = list.length;
        if (n == 0) {
            return null;
        }
        return Balancers.claimFirst(list, (h >>> 1) % n, avoid);
    }

    @Override
    public void serverUp(Server server) {
        reconcile(server);
    }

    @Override
    public void serverDown(Server server) {
        reconcile(server);
    }

    @Override
    public void weightChanged(Server server) {
        reconcile(server);
    }

    @Override
    public void serverAdded(Server server) {
        members.add(server);
        reconcile(server);
    }

    @Override
    public void serverRemoved(Server server) {
        members.remove(server);
        reconcile(server);
    }

    @Override
    public int usableCount() {
        return snap.list.length;
    }

    /** The server owning a client's bucket, whatever its state or load; null if the table is empty. For tests. */
    Server owner(int sourceHash) {
        return ownerOfBucket(Hashing.mix32(sourceHash) & tableMask);
    }

    /** The server owning a bucket in the published table, or null. For tests. */
    Server ownerOfBucket(int bucket) {
        Snapshot s = snap;
        if (s.pages == null) {
            return null;
        }
        int slot = s.slot(bucket);
        return slot == NONE ? null : s.bySlot[slot];
    }

    int tableSize() {
        return 1 << tableBits;
    }

    /** True when this balancer publishes the very table {@code other} does (nothing was copied). For tests. */
    boolean sharesTableWith(SourceHashBalancer other) {
        return snap.base == other.snap.base && snap.pages == other.snap.pages;
    }

    /** The published array holding {@code bucket}: its page, or the flat base (to test reuse by identity). Tests. */
    char[] publishedArray(int bucket) {
        if (snap.pages == null) {
            return null;
        }
        char[] page = snap.pages[bucket >>> PAGE_BITS];
        return page != null ? page : snap.base;
    }

    /** Buckets per published page. For tests. */
    static int pageSize() {
        return PAGE;
    }

    /** The owner of a bucket computed the slow way, scoring every placed server. For tests. */
    Server bruteForceOwner(int bucket) {
        int c = bucket >>> chunkBits;
        int o = bucket & (chunkSize - 1);
        long[] keys = new long[4];
        Node winner = null;
        float winning = Float.POSITIVE_INFINITY;
        for (Node node : nodes()) {
            chunkKeys(node, c, keys, 0);
            int r = rank(o, keys[0], keys[1], keys[2]);
            float score = score(o, r, keys[3], node.invWeight);
            if (winner == null || score < winning || (score == winning && beats(node, (char) winner.slot))) {
                winner = node;
                winning = score;
            }
        }
        return winner == null ? null : winner.server;
    }

    /** The bucket of a client. For tests. */
    int bucketOf(int sourceHash) {
        return Hashing.mix32(sourceHash) & tableMask;
    }

    /** Buckets owned by each placed server, by name. For tests. */
    Map<String, Integer> bucketCounts() {
        Snapshot s = snap;
        Map<String, Integer> out = new java.util.TreeMap<>();
        if (s.pages != null) {
            for (int b = 0; b < tableSize(); b++) {
                out.merge(s.bySlot[s.slot(b)].name(), 1, Integer::sum);
            }
        }
        return out;
    }

    /** Brings the table in line with the server's membership, state and weight; publishes if anything changed. */
    private void reconcile(Server server) {
        int w = server.weight();
        boolean wanted = members.contains(server) && server.usable() && w > 0;
        Node node = placed.get(server);
        if (node != null && wanted && node.weight == w) {
            return;
        }
        if (node == null && !wanted) {
            return;
        }
        char[] work = owner;
        tracking = true;
        if (node != null) {
            unplace(node);
            if (placed.isEmpty()) {
                work = null;
                best = null;
            } else {
                removeNode(node, work);
            }
        }
        if (wanted) {
            Node added = place(server, w);
            work = workTable(work);
            addNode(added, work);
        }
        tracking = false;
        owner = work;
        publish();
    }

    /** The table to add into: {@code work} itself, or (the last server having left) a fresh empty one. */
    private char[] workTable(char[] work) {
        if (work != null) {
            return work;
        }
        best = new float[1 << tableBits];
        Arrays.fill(best, Float.POSITIVE_INFINITY);
        Arrays.fill(pageMax, Float.POSITIVE_INFINITY);
        Arrays.fill(chunkMax, Float.POSITIVE_INFINITY);
        boundsExact = false;
        char[] fresh = new char[1 << tableBits];
        Arrays.fill(fresh, NONE);
        allDirty = true;
        return fresh;
    }

    private Node place(Server server, int weight) {
        int slot = usedSlots.nextClearBit(0);
        if (slot >= MAX_SERVERS) {
            throw new IllegalStateException("source-consistent supports at most " + MAX_SERVERS + " servers");
        }
        usedSlots.set(slot);
        if (slot >= bySlot.length) {
            bySlot = Arrays.copyOf(bySlot, Math.max(slot + 1, bySlot.length * 2));
        }
        Node node = new Node(server, weight, slot);
        bySlot[slot] = node;
        placed.put(server, node);
        return node;
    }

    private void unplace(Node node) {
        placed.remove(node.server);
        usedSlots.clear(node.slot);
        bySlot[node.slot] = null;
    }

    /**
     * Publishes the builder's table when the batch changed it: a new outer array over the same base with fresh
     * copies of the changed pages when they are few, else one flat copy (see the class comment); the previous table
     * when nothing changed. Tightens the bounds of the pages the batch changed.
     */
    private void publish() {
        Server[] slots = new Server[usedSlots.length()];
        Server[] list = new Server[placed.size()];
        int i = 0;
        for (Node node : placed.values()) {
            slots[node.slot] = node.server;
            list[i++] = node.server;
        }
        if (owner == null) {
            base = null;
            pages = null;
            copied = 0;
            allDirty = true;
        } else if (allDirty || base == null) {
            publishFlat();
            allDirty = false; // a full build computed every bound itself; a table filled from empty did not
            if (!boundsExact) {
                computeAllBounds();
            }
        } else {
            int changed = 0;
            for (int w = 0; w < dirty.length; w++) {
                for (long bits = dirty[w]; bits != 0; bits &= bits - 1) {
                    int p = (w << 6) + Long.numberOfTrailingZeros(bits);
                    pageMax[p] = maxScore(p << PAGE_BITS, PAGE); // tightened: the bound may have gone down
                    changed++;
                }
            }
            if (changed > pages.length / PAGED_MAX_DIVISOR
                    || copied + changed > pages.length - pages.length / COPIED_MAX_DIVISOR) {
                publishFlat();
            } else if (changed > 0) {
                char[][] next = pages.clone(); // the outer array only: unchanged pages and the base stay shared
                for (int w = 0; w < dirty.length; w++) {
                    for (long bits = dirty[w]; bits != 0; bits &= bits - 1) {
                        int p = (w << 6) + Long.numberOfTrailingZeros(bits);
                        char[] page = pageOf(p);
                        copied += (page != null ? 1 : 0) - (next[p] != null ? 1 : 0);
                        next[p] = page;
                    }
                }
                pages = next;
            }
            if (changed > 0) {
                for (int c = 0; c < chunks; c++) {
                    boundChunk(c, false);
                }
            }
        }
        Arrays.fill(dirty, 0);
        snap = new Snapshot(base, pages, slots, list);
    }

    /** One flat copy of the builder's table, no pages over it. */
    private void publishFlat() {
        base = owner.clone();
        pages = new char[owner.length >>> PAGE_BITS][];
        copied = 0;
    }

    /**
     * Page {@code p} of the builder's table for publication over {@link #base}: null when its slots are the base's
     * again (a server that went down and came back leaves no copy behind), the published page when they are the same
     * (it is never written), else a fresh copy. Never the builder's own array: readers see no in-place edit.
     */
    private char[] pageOf(int p) {
        int from = p << PAGE_BITS;
        if (Arrays.equals(base, from, from + PAGE, owner, from, from + PAGE)) {
            return null;
        }
        char[] old = pages[p];
        return old != null && Arrays.equals(old, 0, PAGE, owner, from, from + PAGE)
                ? old : Arrays.copyOfRange(owner, from, from + PAGE);
    }

    /** True when every chunk's bound is a real score, as a build leaves them (tests: the pruning is in force). */
    boolean boundsKnown() {
        if (chunkMax == null || !boundsExact) {
            return false;
        }
        for (float m : chunkMax) {
            if (m == Float.POSITIVE_INFINITY) {
                return false;
            }
        }
        return true;
    }

    /** Every page's and chunk's bound from the scores (after a table was filled from empty by additions). */
    private void computeAllBounds() {
        for (int c = 0; c < chunks; c++) {
            boundChunk(c, true);
        }
        boundsExact = true;
    }

    /**
     * Chunk {@code c}'s bound as the max of its pages' bounds (pages nest in chunks), each page's first recomputed
     * from the scores when {@code pages}. Touches only chunk {@code c}'s entries: parallel build tasks call it.
     */
    private void boundChunk(int c, boolean pages) {
        int pagesPerChunk = chunkSize >>> PAGE_BITS;
        float max = 0;
        for (int p = c * pagesPerChunk, end = p + pagesPerChunk; p < end; p++) {
            if (pages) {
                pageMax[p] = maxScore(p << PAGE_BITS, PAGE);
            }
            max = Math.max(max, pageMax[p]);
        }
        chunkMax[c] = max;
    }

    /** The largest winning score of {@code count} buckets from {@code from} (+inf if one is empty). */
    private float maxScore(int from, int count) {
        float[] bestScores = best;
        float max = 0;
        for (int b = from, end = from + count; b < end; b++) {
            max = Math.max(max, bestScores[b]);
        }
        return max;
    }

    private void markDirty(int bucket) {
        int p = bucket >>> PAGE_BITS;
        dirty[p >>> 6] |= 1L << p;
    }

    private Node[] nodes() {
        return placed.values().toArray(new Node[0]);
    }

    // ---- table building -------------------------------------------------------------------------------------

    private void fullBuild() {
        Node[] nodes = nodes();
        if (nodes.length == 0) {
            best = null;
            owner = null;
            return;
        }
        int size = 1 << tableBits;
        // Scores and slots are the builder's own (never published): refilled in place, not 24 MiB more garbage per
        // build; readers see the copy publish() makes.
        float[] bestScores = best != null && best.length == size ? best : new float[size];
        Arrays.fill(bestScores, Float.POSITIVE_INFINITY);
        char[] own = owner != null && owner.length == size ? owner : new char[size];
        Arrays.fill(own, NONE);
        allDirty = true;
        best = bestScores;
        long totalWeight = 0;
        for (Node node : nodes) {
            totalWeight += node.weight;
        }
        // x = expected candidates per bucket. Enumeration costs about B x, scoring the buckets left unresolved
        // about B n e^-x at a third of the price per score: the optimum is near ln n - 1 (measured).
        double x = Math.min(12, Math.max(2, Math.log(nodes.length) - 1));
        // Layers of increasing score: candidates of the first layers set low bests, so most later candidates are
        // rejected by the rank bound alone (no score, a predictable branch).
        int[][] ranks = new int[LAYERS.length][nodes.length];
        for (int layer = 0; layer < LAYERS.length; layer++) {
            double threshold = x * LAYERS[layer] / totalWeight;
            for (int i = 0; i < nodes.length; i++) {
                ranks[layer][i] = ranksBelow(nodes[i], threshold);
            }
        }
        int[] top = ranks[LAYERS.length - 1];
        double lowerBound = Double.POSITIVE_INFINITY;
        for (int i = 0; i < nodes.length; i++) {
            if (top[i] < chunkSize) {
                lowerBound = Math.min(lowerBound, minScoreFromRank(nodes[i], top[i]));
            }
        }
        double bound = lowerBound;
        // Chunks are independent (disjoint buckets, keys derived per chunk): build them in parallel. The result
        // does not depend on the schedule. A few tasks, each with its own scratch arrays for its chunks, rather
        // than a task per chunk: a relist otherwise leaves ~20 MB of scratch per table for the young collector.
        int tasks = Math.min(chunks, BUILD_TASKS);
        IntStream.range(0, tasks).parallel().forEach(t -> {
            long[] keys = new long[nodes.length * 4];
            int[] unresolved = new int[chunkSize];
            for (int c = t; c < chunks; c += tasks) {
                buildChunk(c, nodes, ranks, bound, own, keys, unresolved);
                boundChunk(c, true);
            }
        });
        owner = own;
        boundsExact = true;
    }

    private void buildChunk(int c, Node[] nodes, int[][] ranks, double lowerBound, char[] own, long[] keys,
                            int[] unresolved) {
        float[] bestScores = best;
        int base = c << chunkBits;
        for (int i = 0; i < nodes.length; i++) {
            chunkKeys(nodes[i], c, keys, i * 4);
        }
        for (int layer = 0; layer < ranks.length; layer++) {
            int[] from = layer == 0 ? null : ranks[layer - 1];
            int[] to = ranks[layer];
            for (int i = 0; i < nodes.length; i++) {
                enumerate(nodes[i], keys, i * 4, base, from == null ? 0 : from[i], to[i], own);
            }
        }
        int count = 0;
        for (int o = 0; o < chunkSize; o++) {
            if (!(bestScores[base + o] * (1 + MARGIN) < lowerBound)) {
                unresolved[count++] = o;
            }
        }
        if (count > 0) {
            int[] top = ranks[ranks.length - 1];
            for (int i = 0; i < nodes.length; i++) {
                scoreBuckets(nodes[i], keys, i * 4, base, unresolved, count, top[i], own);
            }
        }
    }

    private void addNode(Node node, char[] own) {
        long[] keys = new long[4];
        for (int c = 0; c < chunks; c++) {
            int base = c << chunkBits;
            float max = chunkMax[c]; // an upper bound: only more ranks are tried, never fewer than needed
            int ranks = max == Float.POSITIVE_INFINITY ? chunkSize : ranksCovering(node, max);
            if (ranks > 0) {
                chunkKeys(node, c, keys, 0);
                enumerate(node, keys, 0, base, 0, ranks, own);
            }
        }
    }

    private void removeNode(Node gone, char[] own) {
        Node[] nodes = nodes();
        float[] bestScores = best;
        int[] orphans = new int[chunkSize];
        long[] keys = new long[4];
        char slot = (char) gone.slot;
        for (int c = 0; c < chunks; c++) {
            int base = c << chunkBits;
            int count = 0;
            for (int o = 0; o < chunkSize; o++) {
                if (own[base + o] == slot) {
                    own[base + o] = NONE;
                    bestScores[base + o] = Float.POSITIVE_INFINITY;
                    markDirty(base + o);
                    orphans[count++] = o;
                }
            }
            if (count > 0) {
                for (Node node : nodes) {
                    chunkKeys(node, c, keys, 0);
                    scoreBuckets(node, keys, 0, base, orphans, count, 0, own);
                }
                // the orphans' new scores may be higher than any before: raise the bounds (publish tightens them)
                float max = chunkMax[c];
                for (int j = 0; j < count; j++) {
                    int b = base + orphans[j];
                    float score = bestScores[b];
                    int p = b >>> PAGE_BITS;
                    pageMax[p] = Math.max(pageMax[p], score);
                    max = Math.max(max, score);
                }
                chunkMax[c] = max;
            }
        }
    }

    /** Ranks per chunk whose score is below {@code threshold} (an estimate; correctness never depends on it). */
    private int ranksBelow(Node node, double threshold) {
        double p = -Math.expm1(-node.weight * threshold);
        return (int) Math.min(chunkSize, Math.max(0, Math.ceil(chunkSize * p)));
    }

    /** Ranks per chunk that include every score within {@code MARGIN} of {@code max}, proven with negLog. */
    private int ranksCovering(Node node, float max) {
        double limit = max * (1 + MARGIN);
        int ranks = ranksBelow(node, limit);
        while (ranks < chunkSize && !(minScoreFromRank(node, ranks) > limit)) {
            ranks++;
        }
        return ranks;
    }

    /** A lower bound on the node's score at any rank >= {@code rank}. */
    private double minScoreFromRank(Node node, int rank) {
        return Hashing.negLog((chunkSize - rank) * invChunk) * node.invWeight;
    }

    /** The node's three round keys and jitter multiplier for a chunk, into {@code keys[at..at+3]}. */
    private void chunkKeys(Node node, int chunk, long[] keys, int at) {
        long key = node.key;
        int salt = chunk * 4;
        keys[at] = Hashing.mix64(key ^ chunkSalt[salt]);
        keys[at + 1] = Hashing.mix64(key ^ chunkSalt[salt + 1]);
        keys[at + 2] = Hashing.mix64(key ^ chunkSalt[salt + 2]);
        keys[at + 3] = Hashing.mix64(key ^ chunkSalt[salt + 3]) | 1;
    }

    /** Offers the node's ranks {@code from..to-1} of this chunk to their buckets. */
    private void enumerate(Node node, long[] keys, int at, int base, int from, int to, char[] own) {
        long k0 = keys[at];
        long k1 = keys[at + 1];
        long k2 = keys[at + 2];
        long jitter = keys[at + 3];
        double invWeight = node.invWeight;
        double bound = invChunk * invWeight / (1 + MARGIN);
        float[] bestScores = best;
        for (int r = from; r < to; r++) {
            int o = permute(r, k0, k1, k2);
            int b = base + o;
            float cur = bestScores[b];
            if (r * bound > cur) {
                continue;
            }
            offer(own, b, node, score(o, r, jitter, invWeight), cur);
        }
    }

    /** Offers the node's score at the given buckets of this chunk, skipping ranks below {@code minRank}. */
    private void scoreBuckets(Node node, long[] keys, int at, int base, int[] offsets, int count, int minRank,
                              char[] own) {
        long k0 = keys[at];
        long k1 = keys[at + 1];
        long k2 = keys[at + 2];
        long jitter = keys[at + 3];
        double invWeight = node.invWeight;
        double bound = invChunk * invWeight / (1 + MARGIN);
        float[] bestScores = best;
        for (int j = 0; j < count; j++) {
            int o = offsets[j];
            int r = rank(o, k0, k1, k2);
            if (r < minRank) {
                continue;
            }
            int b = base + o;
            float cur = bestScores[b];
            if (r * bound > cur) {
                continue;
            }
            offer(own, b, node, score(o, r, jitter, invWeight), cur);
        }
    }

    private void offer(char[] own, int b, Node node, float score, float cur) {
        if (score < cur || (score == cur && beats(node, own[b]))) {
            best[b] = score;
            own[b] = (char) node.slot;
            if (tracking) {
                markDirty(b);
            }
        }
    }

    private boolean beats(Node node, char slot) {
        if (slot == NONE) {
            return true;
        }
        Node other = bySlot[slot];
        if (other == node) {
            return false;
        }
        int c = Long.compare(node.key, other.key);
        return c != 0 ? c < 0 : node.server.name().compareTo(other.server.name()) < 0;
    }

    /** The score of a node at chunk offset {@code o} whose rank is {@code r}. */
    private float score(int o, int r, long jitter, double invWeight) {
        double f = (((o + 1L) * jitter) >>> 11) * 0x1.0p-53;
        double u = ((chunkSize - r) - f) * invChunk;
        return (float) (Hashing.negLog(u) * invWeight);
    }

    /** Rank to chunk offset: a 3-round Feistel network on {@code chunkBits} bits. */
    private int permute(int r, long k0, long k1, long k2) {
        int l = r >>> half;
        int x = r & halfMask;
        int t = l ^ round(k0, x);
        l = x;
        x = t;
        t = l ^ round(k1, x);
        l = x;
        x = t;
        t = l ^ round(k2, x);
        l = x;
        x = t;
        return (l << half) | x;
    }

    /** Chunk offset to rank: the inverse of {@link #permute}. */
    private int rank(int o, long k0, long k1, long k2) {
        int l = o >>> half;
        int x = o & halfMask;
        int t = x ^ round(k2, l);
        x = l;
        l = t;
        t = x ^ round(k1, l);
        x = l;
        l = t;
        t = x ^ round(k0, l);
        x = l;
        l = t;
        return (l << half) | x;
    }

    /**
     * Feistel round function: a multiplicative hash of the keyed half. Its strength matters little: with random
     * round keys every bucket's rank is uniform and independent across servers even for weak rounds.
     */
    private int round(long k, int v) {
        return (int) (((k ^ v) * 0x9E3779B97F4A7C15L) >>> roundShift);
    }

    /** A server placed in the table, with the weight its scores were computed with. */
    private static final class Node {
        final Server server;
        final long key;
        final int weight;
        final double invWeight;
        final int slot;

        Node(Server server, int weight, int slot) {
            this.server = server;
            this.key = Hashing.nameKey(server.name());
            this.weight = weight;
            this.invWeight = 1.0 / weight;
            this.slot = slot;
        }
    }

    /**
     * What event loops read: the flat table and the pages over it (never written once published), the servers by
     * slot, and the placed servers for the last scan.
     */
    private static final class Snapshot {
        /** The flat table, under {@link #pages}. */
        final char[] base;
        /** Pages of {@link #PAGE} slots over the base, null where the base holds the slots; null while empty. */
        final char[][] pages;
        final Server[] bySlot;
        final Server[] list;

        Snapshot(char[] base, char[][] pages, Server[] bySlot, Server[] list) {
            this.base = base;
            this.pages = pages;
            this.bySlot = bySlot;
            this.list = list;
        }

        /** The slot of bucket {@code b}: from its page if it has one, else from the base. */
        int slot(int b) {
            char[] page = pages[b >>> PAGE_BITS];
            return page != null ? page[b & PAGE_MASK] : base[b];
        }
    }
}
