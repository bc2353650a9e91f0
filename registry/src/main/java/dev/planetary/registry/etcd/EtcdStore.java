package dev.planetary.registry.etcd;

import dev.planetary.registry.Json;
import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Released;
import dev.planetary.registry.state.Vm;
import dev.planetary.registry.store.StateStore;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Genesis' state on etcd (issue 13, first increment: the conditional commit). A batch is ONE etcd transaction:
 * <pre>
 * If(   version == base                      (absent when base is 0)
 *       port/&lt;o&gt; as it was at base, for each offset the batch claims or frees:
 *            absent (create_revision == 0) when free, else holding the id that held it
 *       key/&lt;instance&gt; likewise, for each instance key the batch registers or frees )
 * Then( put/delete vm/&lt;id&gt;, grace/&lt;id&gt;, port/&lt;o&gt;, key/&lt;instance&gt;;
 *       put log/&lt;version&gt; per change; put version )
 * </pre>
 * The version compare gives one total order for every Genesis instance on the cluster; the port compares make etcd
 * itself refuse a duplicate offset, and the instance-key compares a second id for one instance key. Called on the writer thread only (the holder map is its own).
 * <p>Not built yet (so {@code --store etcd} is refused at start-up): following other
 * instances' commits (etcd watch on {@code log/}), leases as heartbeats, the elected leader for timed duties,
 * compaction.
 */
public final class EtcdStore implements StateStore {

    /** Every key lives under this prefix, versioned so that a later layout can sit beside it. */
    public static final String PREFIX = "/planetary/genesis/v1/";
    /** How long a commit waits for etcd before the batch fails (and its requests answer 503). */
    public static final long COMMIT_TIMEOUT_MILLIS = 10_000;
    /** Versions are zero-padded in {@code log/} keys so that etcd's byte order is version order. */
    private static final String VERSION_FORMAT = "%020d";

    private final Client client;
    private final EtcdEndpoints endpoints;
    private final String prefix;
    /** offset -> id holding it (live or in grace), as of the last commit this store made. */
    private final Map<Integer, String> holders = new HashMap<>();
    /** instance key -> id registered under it, as of the last commit this store made (or read). */
    private final Map<String, String> keys = new HashMap<>();

    private EtcdStore(Client client, EtcdEndpoints endpoints, String prefix) {
        this.client = client;
        this.endpoints = endpoints;
        this.prefix = prefix;
    }

    /** Connects lazily (the first commit reaches etcd); {@code prefix} separates several registries on one cluster. */
    public static EtcdStore open(EtcdEndpoints endpoints, String prefix) {
        Client c = Client.builder().endpoints(endpoints.uris().toArray(new java.net.URI[0])).build();
        return new EtcdStore(c, endpoints, prefix);
    }

    @Override
    public String describe() {
        return "etcd " + endpoints.uris();
    }

    @Override
    public boolean commit(long base, List<Change> changes) throws IOException {
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
                        throw new IllegalStateException("offset " + o + " is held by " + holder + ", not " + vm.id());
                    }
                    checkPort(portChecks, o);
                    after.put(o, vm.id());
                    put(writes, "port/" + o, vm.id());
                    put(writes, "vm/" + vm.id(), Json.bytes(Json.vmStored(vm)));
                    if (vm.instance() != null) {
                        String owner = keysAfter.get(vm.instance());
                        if (owner != null && !owner.equals(vm.id())) {
                            throw new IllegalStateException("instance key " + vm.instance() + " is registered as "
                                + owner + ", not " + vm.id());
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
            put(writes, "log/" + String.format(VERSION_FORMAT, c.version()), Json.bytes(Json.changeStored(c)));
        }
        put(writes, "version", Long.toString(last));
        List<Cmp> cmps = new ArrayList<>();
        ByteSequence versionKey = key("version");
        cmps.add(base == 0 ? new Cmp(versionKey, Cmp.Op.EQUAL, CmpTarget.createRevision(0))
            : new Cmp(versionKey, Cmp.Op.EQUAL, CmpTarget.value(bytes(Long.toString(base)))));
        cmps.addAll(portChecks.values());
        cmps.addAll(keyChecks.values());
        TxnResponse r = await(client.getKVClient().txn().If(cmps.toArray(new Cmp[0]))
            .Then(writes.values().toArray(new Op[0])).commit(), "commit to");
        if (r.isSucceeded()) {
            holders.clear();
            holders.putAll(after);
            keys.clear();
            keys.putAll(keysAfter);
        }
        return r.isSucceeded();
    }

    /** The whole state as one consistent read: its version, the VMs, the reservations in their grace period. */
    public record Loaded(long version, List<Vm> vms, List<Released> released) {
    }

    /**
     * Reads the state back (one etcd read of the prefix, so one revision) and takes its port holders as the base for
     * the next commit.
     */
    public Loaded load() throws IOException {
        GetResponse r = await(client.getKVClient().get(key(""), GetOption.builder().isPrefix(true).build()), "read");
        long version = 0;
        List<Vm> vms = new ArrayList<>();
        List<Released> released = new ArrayList<>();
        Map<Integer, String> held = new HashMap<>();
        Map<String, String> owners = new HashMap<>();
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
                }
            } catch (IOException | RuntimeException e) {
                throw new IOException(describe() + ": key " + prefix + k + " is damaged: " + e.getMessage(), e);
            }
        }
        holders.clear();
        holders.putAll(held);
        keys.clear();
        keys.putAll(owners);
        return new Loaded(version, vms, released);
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

    /** History is kept whole in this increment (etcd compaction of {@code log/} comes with the watch). */
    @Override
    public boolean compactDue() {
        return false;
    }

    @Override
    public void compact(long version, List<Vm> vms, List<Released> released) {
        // nothing to do until compactDue() can be true
    }

    @Override
    public void close() {
        client.close();
    }

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
        try {
            return answer.get(COMMIT_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: cannot " + doing + " " + describe());
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            throw new IOException("cannot " + doing + " " + describe() + ": " + cause, cause);
        }
    }

    private ByteSequence key(String k) {
        return bytes(prefix + k);
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
