package dev.planetary.registry.etcd;

import dev.planetary.registry.store.SharedStore;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The election of the one Genesis instance that runs the timed duties (expiry, drain completion, grace release,
 * self-preservation): the {@code leader} key, created only if absent and attached to this instance's own lease.
 * Every {@link #ROUND_MILLIS} the instance renews its lease once (a lease renewal is not a raft write) and, when the
 * key is free, takes it. A leader that dies stops renewing: etcd deletes the key when the lease lapses
 * ({@link #TTL_SECONDS}) and another instance takes it at its next round, so the duties resume within
 * {@code TTL_SECONDS + ROUND_MILLIS} (6 s). An instance counts itself leader only until its lease's TTL, counted
 * from the moment it SENT its last successful renewal, has run out: by then etcd may have given the key to another
 * instance, and two leaders must never decide at once. (Two would not corrupt anything: every decision is a
 * compare-and-swap commit; but self-preservation is to be decided once.)
 *
 * <p>The leader's decisions that are states rather than changes (self-preservation on, expiry held) are shown by
 * every instance: the leader writes them to the {@code duties} key when they change (guarded by its holding the
 * leader key), and every other instance reads that key once a round. A follower's status and snapshots so show the
 * leader's decision within about two rounds.
 */
final class EtcdLeader implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EtcdLeader.class);
    /** The leader's lease: a dead leader is replaced within this (plus one round); etcd's minimum is about 2 s. */
    static final long TTL_SECONDS = 5;
    /** A renewal (and, when free, a campaign) this often: several renewals per TTL ride out a lost one. */
    static final long ROUND_MILLIS = 1_000;
    /** A renewal or campaign round waits this long for etcd at most (under a round, so rounds never pile up). */
    private static final long ANSWER_MILLIS = 900;

    private final Client client;
    private final ByteSequence key;
    private final String cluster;
    private final String name = UUID.randomUUID().toString();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "registry-etcd-leader");
        t.setDaemon(true);
        return t;
    });
    private long lease;
    private volatile long leaderUntilNanos;
    private volatile boolean started;
    private boolean wasLeader;
    /** The {@code duties} key: the leader's self-preservation and expiry-hold decision. */
    private final ByteSequence dutiesKey;
    /** The leader's decision as this instance's writer took it (when leading), to be written. */
    private volatile SharedStore.Duties decided;
    /** What this instance last wrote to {@link #dutiesKey} while leading (null: nothing yet in this term). */
    private SharedStore.Duties written;
    /** The leader's decision as last read from {@link #dutiesKey} (null: not read yet). */
    private volatile SharedStore.Duties seen;

    EtcdLeader(Client client, ByteSequence key, ByteSequence dutiesKey, String cluster) {
        this.client = client;
        this.key = key;
        this.dutiesKey = dutiesKey;
        this.cluster = cluster;
    }

    void start() {
        started = true;
        timer.scheduleWithFixedDelay(this::round, 0, ROUND_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** True while this instance surely holds the leadership (see the class comment). */
    boolean held() {
        return started && System.nanoTime() - leaderUntilNanos < 0;
    }

    /** The leading instance's writer: its current decision (written to etcd at the next round when it changed). */
    void decided(SharedStore.Duties d) {
        decided = d;
    }

    /** The leader's decision as last read (null: not known yet). */
    SharedStore.Duties seen() {
        return seen;
    }

    /**
     * Leading: writes the writer's decision when it differs from what this term wrote, only while the leader key is
     * still this instance's. Following: reads the leader's.
     */
    private void duties(boolean leading) throws Exception {
        if (leading) {
            SharedStore.Duties d = decided;
            if (d != null && !d.equals(written)) {
                TxnResponse t = client.getKVClient().txn()
                    .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.value(ByteSequence.from(name, StandardCharsets.UTF_8))))
                    .Then(Op.put(dutiesKey, ByteSequence.from(d.wire(), StandardCharsets.UTF_8), PutOption.DEFAULT))
                    .commit().get(ANSWER_MILLIS, TimeUnit.MILLISECONDS);
                if (t.isSucceeded()) {
                    written = d;
                    seen = d;
                }
            }
            return;
        }
        written = null;
        List<KeyValue> kvs = client.getKVClient().get(dutiesKey).get(ANSWER_MILLIS, TimeUnit.MILLISECONDS).getKvs();
        seen = kvs.isEmpty() ? SharedStore.Duties.NONE
            : SharedStore.Duties.ofWire(kvs.get(0).getValue().toString(StandardCharsets.UTF_8));
    }

    private void round() {
        long sent = System.nanoTime();
        try {
            if (lease == 0) {
                lease = client.getLeaseClient().grant(TTL_SECONDS).get(ANSWER_MILLIS, TimeUnit.MILLISECONDS).getID();
            }
            LeaseKeepAliveResponse k = client.getLeaseClient().keepAliveOnce(lease)
                .get(ANSWER_MILLIS, TimeUnit.MILLISECONDS);
            if (k.getTTL() <= 0) {
                lost("its lease lapsed");
                return;
            }
            TxnResponse t = client.getKVClient().txn().If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0)))
                .Then(Op.put(key, ByteSequence.from(name, StandardCharsets.UTF_8),
                    PutOption.builder().withLeaseId(lease).build()))
                .Else(Op.get(key, GetOption.DEFAULT)).commit().get(ANSWER_MILLIS, TimeUnit.MILLISECONDS);
            List<KeyValue> kvs = t.isSucceeded() ? List.of() : t.getGetResponses().get(0).getKvs();
            boolean mine = t.isSucceeded() || (!kvs.isEmpty() && kvs.get(0).getLease() == lease);
            if (t.isSucceeded()) {
                // a new term: another leader may have written its own decision since this instance last wrote
                written = null;
            }
            if (mine) {
                leaderUntilNanos = sent + TimeUnit.SECONDS.toNanos(TTL_SECONDS);
                if (!wasLeader) {
                    wasLeader = true;
                    LOG.info("this Genesis instance leads the timed duties (expiry, drain, grace, self-preservation) "
                        + "on {}", cluster);
                }
            } else {
                lost(null);
            }
            duties(mine);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // the lease may lapse meanwhile: leaderUntilNanos runs out by itself
            if (leaseGone(e)) {
                lost("its lease lapsed");
            } else {
                LOG.debug("leader round on {}: {}", cluster, e.toString());
            }
        }
    }

    /**
     * True when etcd answered that the lease does not exist (lapsed or revoked): a new one is needed. jetcd's
     * exception carries the code, not the gRPC status name, in its text ("etcdserver: requested lease not found").
     */
    static boolean leaseGone(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof io.etcd.jetcd.common.exception.EtcdException ee
                && ee.getErrorCode() == io.etcd.jetcd.common.exception.ErrorCode.NOT_FOUND) {
                return true;
            }
            String m = String.valueOf(t);
            if (m.contains("NOT_FOUND") || m.contains("lease not found")) {
                return true;
            }
        }
        return false;
    }

    private void lost(String why) {
        if (why != null) {
            lease = 0;
        }
        leaderUntilNanos = System.nanoTime() - 1;
        written = null; // the next term writes its decision again, whatever this one wrote
        if (wasLeader) {
            wasLeader = false;
            LOG.warn("this Genesis instance no longer leads the timed duties{}", why == null ? "" : ": " + why);
        }
    }

    /** Stops campaigning and gives the leadership up at once (revoking the lease deletes the key). */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        leaderUntilNanos = System.nanoTime() - 1;
        if (lease != 0) {
            try {
                client.getLeaseClient().revoke(lease).get(ANSWER_MILLIS, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                LOG.debug("revoking the leader lease: {}", e.toString());
            }
        }
    }
}
