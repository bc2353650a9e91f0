package dev.planetary.registry.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.registry.Hub;
import dev.planetary.registry.Json;
import dev.planetary.registry.Writer;
import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Liveness;
import dev.planetary.registry.state.Released;
import dev.planetary.registry.state.Vm;
import dev.planetary.registry.store.HistoryIds;
import dev.planetary.registry.store.SharedStore;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Genesis' state on etcd (issue 13, first increment: the conditional commit). A batch is ONE etcd transaction:
 * <pre>
 * If(   version == base                      (absent when base is 0)
 *       port/&lt;o&gt; as it was at base, for each offset the batch claims or frees:
 *            absent (create_revision == 0) when free, else holding the id that held it
 *       key/&lt;instance&gt; likewise, for each instance key the batch registers or frees
 *       fence/&lt;this instance&gt; as this instance last set it (absent until its first read-back) )
 * Then( put/delete vm/&lt;id&gt;, grace/&lt;id&gt;, port/&lt;o&gt;, key/&lt;instance&gt;;
 *       put log/&lt;version&gt; per change (with the commit's tag); put version )
 * Else( get fence/&lt;this instance&gt; )   (another value there is no lost race: the fence is moved, the chunk sent again)
 * </pre>
 * The version compare gives one total order for every Genesis instance on the cluster; the port compares make etcd
 * itself refuse a duplicate offset, and the instance-key compares a second id for one instance key. Each log record
 * carries the tag of the commit that wrote it ({@code commit}), and each transaction also compares this instance's
 * {@code fence/<instance>} key: after a commit whose answer never came, {@link #stored} moves the fence (so the lost
 * transaction can no longer apply, should etcd still hold it) and reads the records back to tell whether they are
 * this commit's (see {@code Writer}: the requests are then answered as stored, not 503). Called on the
 * writer thread only (the holder map is its own), except the follow callbacks (etcd watch on {@code log/}) and the
 * leader ({@link EtcdLeader}), which run on jetcd's and their own threads.
 */
public final class EtcdStore implements SharedStore {

    private static final Logger LOG = LoggerFactory.getLogger(EtcdStore.class);

    /** Every key lives under this prefix, versioned so that a later layout can sit beside it. */
    public static final String PREFIX = "/planetary/genesis/v1/";
    /**
     * How long a commit or read waits for etcd before it fails (and the batch's requests answer 503). A healthy etcd
     * answers in milliseconds and an etcd 3.4 election takes about a second; 3 s rides out one election and still
     * answers 503 before the VM agent's 5 s request timeout.
     */
    public static final long COMMIT_TIMEOUT_MILLIS = 3_000;
    /**
     * How long the read-back after a commit without answer waits ({@link #stored}): after the commit's own 3 s, an
     * election is over and a new leader answers in milliseconds; 1 s keeps the whole answer (4 s) within the VM
     * agent's 5 s request timeout with a second to spare for queueing on a busy machine, so a 503 still reaches it
     * when there is no quorum.
     */
    public static final long READ_BACK_TIMEOUT_MILLIS = 1_000;
    /**
     * {@code log/} records kept (older ones are deleted): as many as a Genesis hub retains for resumes, so a
     * {@code since} that one instance can resume, every instance can; older ones relist.
     */
    public static final long LOG_KEPT = Hub.RETAINED;
    /** Commits by this instance between two deletions of old {@code log/} records (one range delete each). */
    static final int COMPACT_EVERY = 1_000;
    /** Versions are zero-padded in {@code log/} keys so that etcd's byte order is version order. */
    private static final String VERSION_FORMAT = "%020d";

    private final Client client;
    private final EtcdEndpoints endpoints;
    private final String prefix;
    /** offset -> id holding it (live or in grace), as of the last commit this store made. */
    private final Map<Integer, String> holders = new HashMap<>();
    /** instance key -> id registered under it, as of the last commit this store made (or read). */
    private final Map<String, String> keys = new HashMap<>();
    private final EtcdLeader leader;
    private volatile EtcdLiveness liveness;
    private volatile Watch.Watcher follower;
    private int commitsSinceCompaction;
    /** Names this store's fence key; random, so instances never share one. */
    private final String fenceKey = "fence/" + java.util.UUID.randomUUID();
    /**
     * The fence key's value the commits compare (null: absent, never moved yet). Values are counts, zero-padded so
     * that etcd's byte order is their order: a move only applies over a smaller count, so a stale move that etcd
     * applies late (its answer timed out, jetcd still sends it) can never put back a value this instance left.
     */
    private String fence;
    /** The last count this instance put (or saw) in its fence key. */
    private long fenceCount;
    /** True when a move of the fence may or may not have applied (its answer never came): move it again first. */
    private boolean fenceUnknown;
    /** The tag the last {@link #commit} wrote in each of its log records. */
    private String tag;
    /** Changes of the last {@link #commit} known stored (its transactions that answered success). */
    private int lastStored;
    /** True when the last {@link #commit}'s last transaction threw: whether it applied is unknown. */
    private boolean lastUnknown;

    static final String VERTX_CP_RESOLVING = "vertx.disableFileCPResolving";

    private EtcdStore(Client client, EtcdEndpoints endpoints, String prefix) {
        this.client = client;
        this.endpoints = endpoints;
        this.prefix = prefix;
        this.leader = new EtcdLeader(client, key("leader"), key("duties"), describe());
    }

    /** Connects lazily (the first commit reaches etcd); {@code prefix} separates several registries on one cluster. */
    public static EtcdStore open(EtcdEndpoints endpoints, String prefix) {
        // jetcd runs on Vert.x, which otherwise makes a /tmp/vertx-cache-* directory for serving files from the
        // class path (never used here) and leaves it behind when the process is killed
        if (System.getProperty(VERTX_CP_RESOLVING) == null) {
            System.setProperty(VERTX_CP_RESOLVING, "true");
        }
        Client c = Client.builder().endpoints(endpoints.uris().toArray(new java.net.URI[0])).build();
        return new EtcdStore(c, endpoints, prefix);
    }

    /** Starts campaigning for the leadership (timed duties); without it, {@link #leader()} stays false. */
    public void campaign() {
        leader.start();
    }

    @Override
    public boolean leader() {
        return leader.held();
    }

    @Override
    public void decided(Duties d) {
        leader.decided(d);
    }

    @Override
    public Duties duties() {
        return leader.seen();
    }

    /** Starts following the VMs' liveness leases of {@code ttl} (heartbeats renew them through the result). */
    public EtcdLiveness liveness(Duration ttl) {
        EtcdLiveness l = new EtcdLiveness(this, ttl);
        l.start();
        liveness = l;
        return l;
    }

    @Override
    public void refreshLiveness(Map<String, Liveness> known, long nowNanos, long ttlNanos) {
        EtcdLiveness l = liveness;
        if (l != null) {
            l.refresh(known, nowNanos, ttlNanos);
        }
    }

    /** The client, for the liveness leases that share its connection. */
    Client client() {
        return client;
    }

    /** The full key of {@code k} under this store's prefix. */
    ByteSequence key(String k) {
        return bytes(prefix + k);
    }

    /** Reads the port plan the state was written with, recording {@code spec} first when none is (one transaction). */
    public String recordPlanIfAbsent(String spec) throws IOException {
        ByteSequence k = key("port-plan");
        TxnResponse r = await(client.getKVClient().txn().If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
            .Then(Op.put(k, bytes(spec), PutOption.DEFAULT)).Else(Op.get(k, GetOption.DEFAULT)).commit(),
            "read the port plan from");
        if (r.isSucceeded()) {
            return spec;
        }
        return r.getGetResponses().get(0).getKvs().get(0).getValue().toString(StandardCharsets.UTF_8);
    }

    /**
     * The id of the history this registry's versions belong to (see {@link HistoryIds}): made by the first instance
     * that asks, in one transaction, and read by every other, so all instances on this store answer the same.
     */
    public String historyId() throws IOException {
        ByteSequence k = key("history");
        String candidate = HistoryIds.random();
        TxnResponse r = await(client.getKVClient().txn().If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
            .Then(Op.put(k, bytes(candidate), PutOption.DEFAULT)).Else(Op.get(k, GetOption.DEFAULT)).commit(),
            "read the history id from");
        if (r.isSucceeded()) {
            return candidate;
        }
        String id = r.getGetResponses().get(0).getKvs().get(0).getValue().toString(StandardCharsets.UTF_8);
        if (!HistoryIds.valid(id)) {
            throw new IOException(describe() + ": key " + prefix + "history is not a history id: " + id);
        }
        return id;
    }

    @Override
    public String describe() {
        return "etcd " + endpoints.uris();
    }

    /**
     * Changes per etcd transaction at most: a change writes up to 4 keys (vm or port, key, grace, log record), so 24
     * of them plus the version stay under etcd's default {@code --max-txn-ops} of 128 (the compares too).
     */
    static final int CHANGES_PER_TXN = 24;

    /**
     * A batch larger than {@link #CHANGES_PER_TXN} (a mass expiry, a release of many grace periods) goes as several
     * transactions, each on the version the previous one left: false when any of them loses the race. The chunks
     * before a lost (or unanswered) one stay committed: {@link #stored} says how many changes they hold, the writer
     * answers the operations wholly among them as stored and applies only the others again on the state read back,
     * so no operation is applied twice (no second VM for a registration without an instance key).
     */
    @Override
    public boolean commit(long base, List<Change> changes) throws IOException {
        tag = java.util.UUID.randomUUID().toString();
        lastStored = 0;
        lastUnknown = false;
        boolean fenceMoved = false;
        try {
            if (fenceUnknown) {
                moveFence(COMMIT_TIMEOUT_MILLIS); // else every commit would compare a value the key may not hold
                fenceMoved = true;
            }
            for (int from = 0; from < changes.size(); ) {
                int to = chunkEnd(changes, from);
                List<Change> chunk = changes.subList(from, to);
                Outcome o = commitOne(chunk.get(0).version() - 1, chunk);
                if (o == Outcome.FENCED) {
                    // the fence key holds another value than this instance's (a move applied late, a restore, an
                    // operator's delete): not a lost race. Move it (which also fences any transaction of ours still
                    // in flight) and send the chunk again, once; a fence that keeps changing is an error, not a race
                    if (fenceMoved) {
                        throw new IOException("cannot commit to " + describe() + ": the fence key " + prefix + fenceKey
                            + " keeps changing under this instance (another process writes it?)");
                    }
                    LOG.warn("the fence key {}{} on {} does not hold this instance's value; moving it", prefix,
                        fenceKey, describe());
                    fenceUnknown = true;
                    moveFence(COMMIT_TIMEOUT_MILLIS);
                    fenceMoved = true;
                    continue;
                }
                if (o == Outcome.LOST) {
                    return false;
                }
                lastStored += chunk.size();
                from = to;
            }
        } catch (IOException | RuntimeException e) {
            // only an answer that never came (a timeout, etcd unavailable, a leader change) may have applied; an
            // error etcd answered (a request too large, a permission) did not: the read-back is for the first only
            lastUnknown = Writer.outcomeUnknown(e);
            throw e;
        }
        return true;
    }

    /**
     * Bytes of one transaction at most, estimated: well under etcd's default {@code --max-request-bytes} of 1.5 MiB
     * (a VM record is written twice, as {@code vm/} and as its log record, and a registration body may be 64 KB).
     */
    static final int BYTES_PER_TXN = 1 << 20;
    /** Estimated bytes of a change's keys and compares besides its two JSON records. */
    private static final int CHANGE_OVERHEAD_BYTES = 512;

    /** Where the chunk from {@code from} ends: at most {@link #CHANGES_PER_TXN} changes and {@link #BYTES_PER_TXN}. */
    private static int chunkEnd(List<Change> changes, int from) {
        long bytes = 0;
        int to = from;
        while (to < changes.size() && to - from < CHANGES_PER_TXN) {
            long size = 2L * Json.bytes(Json.changeStored(changes.get(to))).length + CHANGE_OVERHEAD_BYTES;
            if (to > from && bytes + size > BYTES_PER_TXN) {
                break; // a change larger than the bound still goes, alone
            }
            bytes += size;
            to++;
        }
        return to;
    }

    /** What one transaction did: stored, lost the race (version, a port, an instance key), or met another fence. */
    private enum Outcome { STORED, LOST, FENCED }

    /**
     * How many of the last commit's changes are stored. After a lost race: the transactions that answered success.
     * After a transaction that threw: one transaction moves this instance's fence (every commit compares it, so the
     * lost transaction can never apply after this, even if etcd or jetcd still holds it) and reads the log records
     * from {@code base + 1}, which are this commit's as far as they carry its tag. Needs quorum, as a commit does.
     */
    @Override
    public int stored(long base, List<Change> changes) throws IOException {
        if (!lastUnknown) {
            return lastStored;
        }
        ByteSequence from = key("log/" + String.format(VERSION_FORMAT, base + 1));
        ByteSequence to = key("log/" + String.format(VERSION_FORMAT, base + changes.size() + 1));
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READ_BACK_TIMEOUT_MILLIS);
        fenceUnknown = true; // until a move's answer comes
        moveFence(READ_BACK_TIMEOUT_MILLIS); // from here on the unanswered transaction can no longer apply
        long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
        GetResponse read = await(client.getKVClient().get(from, GetOption.builder().withRange(to).build()),
            "read the outcome of a commit back from", left);
        lastUnknown = false;
        int n = 0;
        for (KeyValue kv : read.getKvs()) {
            JsonNode rec;
            try {
                rec = Json.MAPPER.readTree(kv.getValue().getBytes());
            } catch (IOException e) {
                throw new IOException(describe() + ": key " + kv.getKey() + " is damaged: " + e.getMessage(), e);
            }
            if (n == changes.size() || rec.path("version").asLong(-1) != base + n + 1
                || !tag.equals(rec.path("commit").asText(null))) {
                break;
            }
            n++;
        }
        lastStored = n;
        return n;
    }

    private Outcome commitOne(long base, List<Change> changes) throws IOException {
        Map<Integer, String> after = new HashMap<>(holders);
        Map<String, Op> writes = new LinkedHashMap<>(); // one op per key: etcd refuses a key twice in a txn
        Map<Integer, Cmp> portChecks = new LinkedHashMap<>();
        Map<String, String> keysAfter = new HashMap<>(keys);
        Map<String, Cmp> keyChecks = new LinkedHashMap<>();
        long last = base;
        for (Change c : changes) {
            if (c.version() != last + 1) {
                throw new IllegalStateException("change versions must follow " + last + ", got " + c.version());
            }
            last = c.version();
            switch (c.type()) {
                case ADDED, UPDATED, DRAINING -> {
                    Vm vm = c.vm();
                    int o = vm.ports().offset();
                    String holder = after.get(o);
                    if (holder != null && !holder.equals(vm.id())) {
                        return Outcome.LOST; // this store's base is behind the registry's: read back, apply again
                    }
                    checkPort(portChecks, o);
                    after.put(o, vm.id());
                    put(writes, "port/" + o, vm.id());
                    put(writes, "vm/" + vm.id(), Json.bytes(Json.vmStored(vm)));
                    if (vm.instance() != null) {
                        String owner = keysAfter.get(vm.instance());
                        if (owner != null && !owner.equals(vm.id())) {
                            return Outcome.LOST; // as above
                        }
                        checkKey(keyChecks, vm.instance());
                        keysAfter.put(vm.instance(), vm.id());
                        put(writes, "key/" + vm.instance(), vm.id());
                    }
                }
                case REMOVED -> { // its ports stay held for the grace period, with what a re-registration proves
                    Vm vm = c.vm();
                    delete(writes, "vm/" + vm.id());
                    put(writes, "grace/" + vm.id(), Json.bytes(Json.releasedStored(new Released(vm.id(),
                        vm.instance(), vm.ports(), vm.ip(), vm.secretHash()))));
                }
                case RELEASED -> {
                    Released r = c.released();
                    checkPort(portChecks, r.offset());
                    after.remove(r.offset());
                    delete(writes, "port/" + r.offset());
                    delete(writes, "grace/" + r.id());
                    if (r.instance() != null) {
                        checkKey(keyChecks, r.instance());
                        keysAfter.remove(r.instance());
                        delete(writes, "key/" + r.instance());
                    }
                }
                default -> throw new IllegalStateException("unknown change " + c.type());
            }
            put(writes, "log/" + String.format(VERSION_FORMAT, c.version()),
                Json.bytes(Json.changeStored(c).put("commit", tag)));
        }
        put(writes, "version", Long.toString(last));
        List<Cmp> cmps = new ArrayList<>();
        ByteSequence versionKey = key("version");
        cmps.add(base == 0 ? new Cmp(versionKey, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
            : new Cmp(versionKey, Cmp.Op.EQUAL, CmpTarget.value(bytes(Long.toString(base)))));
        ByteSequence fenced = key(fenceKey);
        cmps.add(fence == null ? new Cmp(fenced, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
            : new Cmp(fenced, Cmp.Op.EQUAL, CmpTarget.value(bytes(fence))));
        cmps.addAll(portChecks.values());
        cmps.addAll(keyChecks.values());
        TxnResponse r = await(client.getKVClient().txn().If(cmps.toArray(new Cmp[0]))
            .Then(writes.values().toArray(new Op[0])).Else(Op.get(fenced, GetOption.DEFAULT)).commit(), "commit to");
        if (r.isSucceeded()) {
            commitsSinceCompaction++;
            holders.clear();
            holders.putAll(after);
            keys.clear();
            keys.putAll(keysAfter);
            return Outcome.STORED;
        }
        List<KeyValue> held = r.getGetResponses().get(0).getKvs();
        String now = held.isEmpty() ? null : held.get(0).getValue().toString(StandardCharsets.UTF_8);
        return java.util.Objects.equals(now, fence) ? Outcome.LOST : Outcome.FENCED;
    }

    /** Tries of {@link #moveFence} before it gives up (each try learns what the key holds and goes past it). */
    private static final int FENCE_MOVE_TRIES = 4;

    /**
     * Moves this instance's fence key to a count above whatever it holds: {@code If(value < next) Then put(next)}, so
     * that a stale move applied late never wins. An absent key (deleted, a restore) or one that holds no count
     * (written by someone else) is replaced only as read, so nothing written meanwhile is overwritten blindly.
     */
    private void moveFence(long timeoutMillis) throws IOException {
        ByteSequence k = key(fenceKey);
        fenceUnknown = true; // until an answer says where it is
        for (int i = 0; i < FENCE_MOVE_TRIES; i++) {
            String next = String.format(VERSION_FORMAT, ++fenceCount);
            TxnResponse t = await(client.getKVClient().txn().If(new Cmp(k, Cmp.Op.LESS, CmpTarget.value(bytes(next))))
                .Then(Op.put(k, bytes(next), PutOption.DEFAULT)).Else(Op.get(k, GetOption.DEFAULT)).commit(),
                "move the commit fence on", timeoutMillis);
            if (!t.isSucceeded()) {
                List<KeyValue> kvs = t.getGetResponses().get(0).getKvs();
                String held = kvs.isEmpty() ? null : kvs.get(0).getValue().toString(StandardCharsets.UTF_8);
                long count = count(held);
                if (count >= 0) {
                    fenceCount = Math.max(fenceCount, count); // at or past ours: the next try goes past it
                    continue;
                }
                // absent (a value compare fails on an absent key), or not a count: replace exactly what was read
                Cmp same = held == null ? new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
                    : new Cmp(k, Cmp.Op.EQUAL, CmpTarget.value(bytes(held)));
                t = await(client.getKVClient().txn().If(same).Then(Op.put(k, bytes(next), PutOption.DEFAULT)).commit(),
                    "move the commit fence on", timeoutMillis);
            }
            if (t.isSucceeded()) {
                fence = next;
                fenceUnknown = false;
                return;
            }
        }
        throw new IOException("cannot move the commit fence " + prefix + fenceKey + " on " + describe()
            + ": it keeps changing under this instance (another process writes it?)");
    }

    /** The count a fence value holds, or -1 (absent, or not written by a Genesis instance). */
    private static long count(String fenceValue) {
        if (fenceValue == null || fenceValue.length() != 20 || !fenceValue.chars().allMatch(Character::isDigit)) {
            return -1;
        }
        return Long.parseLong(fenceValue);
    }

    /** Tests: this instance's fence key. */
    ByteSequence fenceKeyForTests() {
        return key(fenceKey);
    }

    /** Tests: as if a move of the fence had got no answer (whether it applied is unknown). */
    void fenceMoveUnanswered() {
        fenceUnknown = true;
    }

    /** Tests: as if the last commit's answer had been lost (a timeout) whatever it answered. */
    void outcomeUnknown() {
        lastUnknown = true;
    }

    /** {@link #load(long)} with every kept {@code log/} record. */
    public Loaded load() throws IOException {
        return load(0);
    }

    /**
     * Reads the state back (one etcd transaction of reads, so one revision) and takes its port holders and instance
     * keys as the base for the next commit.
     */
    @Override
    public Loaded load(long since) throws IOException {
        GetOption all = GetOption.builder().isPrefix(true).build();
        TxnResponse t = await(client.getKVClient().txn().Then(
            Op.get(key("version"), GetOption.DEFAULT), Op.get(key("vm/"), all), Op.get(key("grace/"), all),
            Op.get(key("key/"), all), Op.get(key("port/"), all),
            Op.get(key("log/" + String.format(VERSION_FORMAT, since + 1)),
                GetOption.builder().withRange(key("log0")).build())).commit(), "read");
        long version = 0;
        List<Vm> vms = new ArrayList<>();
        List<Released> released = new ArrayList<>();
        List<Change> log = new ArrayList<>();
        Map<Integer, String> held = new HashMap<>();
        Map<String, String> owners = new HashMap<>();
        for (GetResponse r : t.getGetResponses()) {
            for (KeyValue kv : r.getKvs()) {
                String k = kv.getKey().toString(StandardCharsets.UTF_8).substring(prefix.length());
                byte[] v = kv.getValue().getBytes();
                try {
                    if (k.equals("version")) {
                        version = Long.parseLong(new String(v, StandardCharsets.US_ASCII));
                    } else if (k.startsWith("vm/")) {
                        vms.add(Json.vmFrom(Json.MAPPER.readTree(v)));
                    } else if (k.startsWith("grace/")) {
                        released.add(Json.releasedFrom(Json.MAPPER.readTree(v)));
                    } else if (k.startsWith("key/")) {
                        owners.put(k.substring("key/".length()), new String(v, StandardCharsets.UTF_8));
                    } else if (k.startsWith("port/")) {
                        held.put(Integer.parseInt(k.substring("port/".length())), new String(v, StandardCharsets.UTF_8));
                    } else if (k.startsWith("log/")) {
                        log.add(Json.changeFrom(Json.MAPPER.readTree(v)));
                    }
                } catch (IOException | RuntimeException e) {
                    throw new IOException(describe() + ": key " + prefix + k + " is damaged: " + e.getMessage(), e);
                }
            }
        }
        holders.clear();
        holders.putAll(held);
        keys.clear();
        keys.putAll(owners);
        return new Loaded(version, vms, released, log, t.getHeader().getRevision());
    }

    /**
     * Another instance's change, applied by the writer: the base of this store's next commit follows it (else its
     * compares would expect the holders of before, and lose the race for nothing).
     */
    @Override
    public void followed(Change c) {
        switch (c.type()) {
            case ADDED, UPDATED, DRAINING -> {
                holders.put(c.vm().ports().offset(), c.vm().id());
                if (c.vm().instance() != null) {
                    keys.put(c.vm().instance(), c.vm().id());
                }
            }
            case RELEASED -> {
                holders.remove(c.released().offset());
                if (c.released().instance() != null) {
                    keys.remove(c.released().instance());
                }
            }
            default -> {
                // a removal keeps its offset and instance key held (grace)
            }
        }
    }

    @Override
    public void follow(long revision, Consumer<Change> sink, Consumer<String> lost) {
        Watch.Watcher old = follower;
        if (old != null) {
            old.close();
        }
        AtomicBoolean done = new AtomicBoolean();
        follower = client.getWatchClient().watch(key("log/"),
            WatchOption.builder().isPrefix(true).withRevision(revision).withNoDelete(true).build(),
            Watch.listener(resp -> {
                for (WatchEvent e : resp.getEvents()) {
                    if (e.getEventType() != WatchEvent.EventType.PUT) {
                        continue;
                    }
                    try {
                        sink.accept(Json.changeFrom(Json.MAPPER.readTree(e.getKeyValue().getValue().getBytes())));
                    } catch (IOException | RuntimeException bad) {
                        if (done.compareAndSet(false, true)) {
                            lost.accept("a damaged log record " + e.getKeyValue().getKey() + ": " + bad.getMessage());
                        }
                        return;
                    }
                }
            }, err -> {
                if (done.compareAndSet(false, true)) {
                    lost.accept(String.valueOf(err));
                }
            }));
    }

    /** The offset as it was at the base version: free, or held by whom this store last saw hold it. */
    private void checkPort(Map<Integer, Cmp> checks, int offset) {
        if (checks.containsKey(offset)) {
            return; // compared against the base state once; the batch's own transitions were checked above
        }
        String holder = holders.get(offset);
        ByteSequence k = key("port/" + offset);
        checks.put(offset, holder == null ? new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
            : new Cmp(k, Cmp.Op.EQUAL, CmpTarget.value(bytes(holder))));
    }

    /** The instance key as it was at the base version: unused, or registered as whom this store last saw. */
    private void checkKey(Map<String, Cmp> checks, String instance) {
        if (checks.containsKey(instance)) {
            return;
        }
        String owner = keys.get(instance);
        ByteSequence k = key("key/" + instance);
        checks.put(instance, owner == null ? new Cmp(k, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
            : new Cmp(k, Cmp.Op.EQUAL, CmpTarget.value(bytes(owner))));
    }

    /** Every {@link #COMPACT_EVERY} commits of this instance (any instance may compact: it is idempotent). */
    @Override
    public boolean compactDue() {
        return commitsSinceCompaction >= COMPACT_EVERY;
    }

    /** Deletes the {@code log/} records older than the last {@link #LOG_KEPT} versions (one range delete). */
    @Override
    public void compact(long version, List<Vm> vms, List<Released> released) throws IOException {
        commitsSinceCompaction = 0;
        long below = version - LOG_KEPT + 1;
        if (below > 1) {
            await(client.getKVClient().delete(key("log/"), DeleteOption.builder()
                .withRange(key("log/" + String.format(VERSION_FORMAT, below))).build()), "compact the log on");
        }
    }

    @Override
    public void close() {
        Watch.Watcher w = follower;
        if (w != null) {
            w.close();
        }
        leader.close();
        EtcdLiveness l = liveness;
        if (l != null) {
            l.close();
        }
        if (fence != null || fenceUnknown) {
            // the fence key is this process's alone and the writer has stopped: nothing compares it any more (and a
            // transaction of ours still in flight compares a value, which an absent key never matches)
            try {
                await(client.getKVClient().delete(key(fenceKey)), "delete the commit fence on", FENCE_DELETE_MILLIS);
            } catch (IOException e) {
                LOG.debug("{}", e.getMessage());
            }
        }
        client.close();
    }

    /** How long closing waits to delete the fence key (else it stays behind: harmless, a few bytes). */
    private static final long FENCE_DELETE_MILLIS = 1_000;

    private void put(Map<String, Op> writes, String k, String value) {
        put(writes, k, value.getBytes(StandardCharsets.UTF_8));
    }

    private void put(Map<String, Op> writes, String k, byte[] value) {
        writes.remove(k); // re-insert: the key's last write keeps its place after what it depends on
        writes.put(k, Op.put(key(k), ByteSequence.from(value), PutOption.DEFAULT));
    }

    private void delete(Map<String, Op> writes, String k) {
        writes.remove(k);
        writes.put(k, Op.delete(key(k), DeleteOption.DEFAULT));
    }

    /** Waits for etcd's answer, bounded; a failure names the cluster and what was being done. */
    private <T> T await(CompletableFuture<T> answer, String doing) throws IOException {
        return await(answer, doing, COMMIT_TIMEOUT_MILLIS);
    }

    private <T> T await(CompletableFuture<T> answer, String doing, long timeoutMillis) throws IOException {
        try {
            return answer.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: cannot " + doing + " " + describe());
        } catch (TimeoutException e) {
            throw new IOException("cannot " + doing + " " + describe() + ": no answer within " + timeoutMillis
                + " ms (etcd down, or without quorum)");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            // jetcd's message is etcd's description only: the status code tells an answer lost from a refusal
            String code = cause instanceof EtcdException ee ? " (" + ee.getErrorCode() + ")" : "";
            throw new IOException("cannot " + doing + " " + describe() + ": " + cause + code, cause);
        }
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
