package dev.planetary.registry.etcd;

import dev.planetary.registry.state.Liveness;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.lease.NoSuchLeaseException;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Heartbeats across Genesis instances as etcd leases. Each VM has a lease of the registry's TTL holding
 * {@code alive/<id>}; a heartbeat answered by any instance marks the VM ({@link #beat}, a set insertion on the event
 * loop), and this instance's renewer renews the lease of every marked VM once per {@link #RENEW_FRACTION} of the TTL
 * (one lease keep-alive, which etcd's leader answers without a raft write): however often VMs heartbeat, etcd sees at
 * most three renewals per VM and TTL per instance, and no heartbeat waits for etcd. A lease so renewed lapses between
 * one TTL and 4/3 of a TTL after the VM's last heartbeat, never earlier than the local store would expire it. Only a
 * VM whose lease lapsed (or that has none yet: just registered) costs raft writes: a new lease and one put. Every instance follows {@code alive/} (one etcd watch): the leader feeds it to the registry's liveness
 * before each tick ({@link #refresh}): a VM whose lease lives counts as seen now; one whose {@code alive/} key etcd
 * deleted (its lease lapsed) counts as lapsed, and the leader's ordinary expiry and self-preservation take over.
 */
public final class EtcdLiveness implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EtcdLiveness.class);
    /** A lease request waits this long at most (a heartbeat's answer never waits for it: it runs on its own). */
    private static final long ANSWER_MILLIS = 3_000;
    /** The renewer runs every TTL / this: a heartbeat reaches etcd within a third of a TTL. */
    static final int RENEW_FRACTION = 3;
    /**
     * Lease requests in flight at most: a renewer round for 2,000 VMs is spread over etcd's answers instead of
     * queued at once (the rest waits for the next round: the VM stays marked).
     */
    private static final int IN_FLIGHT = 256;

    private final Client client;
    private final EtcdStore store;
    private final long ttlSeconds;
    /** VM id -> its live lease, as the {@code alive/} watch shows. */
    private final Map<String, Long> leases = new ConcurrentHashMap<>();
    /** VMs whose lease etcd let lapse since the last {@link #refresh}. */
    private final Set<String> lapsed = ConcurrentHashMap.newKeySet();
    /** VMs whose lease is being granted (one grant at a time per VM). */
    private final Set<String> granting = ConcurrentHashMap.newKeySet();
    /** VMs heartbeaten here since the renewer's last round. */
    private final Set<String> beaten = ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(IN_FLIGHT);
    /** Renews and re-follows off jetcd's event loop (never block it: its watch and answers run there). */
    private final java.util.concurrent.ScheduledExecutorService renewer =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "registry-etcd-leases");
            t.setDaemon(true);
            return t;
        });
    private volatile Watch.Watcher watcher;

    EtcdLiveness(EtcdStore store, Duration ttl) {
        this.store = store;
        this.client = store.client();
        // whole seconds (etcd's unit), rounded up: a lease never lapses before the registry's TTL
        this.ttlSeconds = Math.max(1, (ttl.toMillis() + 999) / 1000);
    }

    /** Reads the live leases, follows {@code alive/} from there, and starts renewing. */
    void start() {
        renewer.execute(this::follow);
        long period = Math.max(1, ttlSeconds * 1000 / RENEW_FRACTION);
        renewer.scheduleWithFixedDelay(this::renew, period, period, TimeUnit.MILLISECONDS);
    }

    /**
     * Reads the live leases and follows {@code alive/} from there; while etcd does not answer, reads again a second
     * later (following "from now" would miss the leases that lapse meanwhile). A lease known before the read that
     * the read no longer shows lapsed while nothing followed: it is marked lapsed here, since no delete event will
     * come for it — unless it changed meanwhile (a grant that completed after the read put a new one).
     */
    private void follow() {
        Map<String, Long> before = new HashMap<>(leases);
        try {
            GetResponse r = client.getKVClient().get(store.key("alive/"), GetOption.builder().isPrefix(true).build())
                .get(ANSWER_MILLIS, TimeUnit.MILLISECONDS);
            Set<String> live = new HashSet<>();
            for (KeyValue kv : r.getKvs()) {
                String id = idOf(kv);
                live.add(id);
                leases.put(id, kv.getLease());
            }
            for (Map.Entry<String, Long> e : before.entrySet()) {
                if (!live.contains(e.getKey()) && leases.remove(e.getKey(), e.getValue())) {
                    lapsed.add(e.getKey());
                }
            }
            watch(r.getHeader().getRevision() + 1);
        } catch (Exception e) {
            LOG.warn("cannot read the VM leases from {} ({}); reading again in 1 s", store.describe(), e.toString());
            if (!renewer.isShutdown()) {
                renewer.schedule(this::follow, 1, TimeUnit.SECONDS);
            }
        }
    }

    /** Follows {@code alive/} again as after a broken watch (tests: the lapses a broken watch missed). */
    void refollow() {
        Watch.Watcher w = watcher;
        if (w != null) {
            w.close();
        }
        renewer.execute(this::follow);
    }

    /** Stops following {@code alive/} (tests: a broken watch). */
    void stopFollowing() {
        Watch.Watcher w = watcher;
        if (w != null) {
            w.close();
        }
    }

    /** True when {@code id} lapsed and the next {@link #refresh} will count it so (tests). */
    boolean lapsedPending(String id) {
        return lapsed.contains(id);
    }

    /** True when this instance knows a live lease for {@code id} (tests). */
    boolean knowsLease(String id) {
        return leases.containsKey(id);
    }

    private void watch(long revision) {
        WatchOption.Builder o = WatchOption.builder().isPrefix(true);
        if (revision > 0) {
            o.withRevision(revision);
        }
        watcher = client.getWatchClient().watch(store.key("alive/"), o.build(), Watch.listener(resp -> {
            for (WatchEvent e : resp.getEvents()) {
                String id = idOf(e.getKeyValue());
                if (e.getEventType() == WatchEvent.EventType.PUT) {
                    leases.put(id, e.getKeyValue().getLease());
                    lapsed.remove(id);
                } else if (e.getEventType() == WatchEvent.EventType.DELETE) {
                    leases.remove(id);
                    lapsed.add(id);
                }
            }
        }, err -> {
            LOG.warn("following the VM leases on {} broke ({}); following again", store.describe(), err.toString());
            Watch.Watcher w = watcher;
            if (w != null) {
                w.close();
            }
            if (!renewer.isShutdown()) {
                renewer.schedule(this::follow, 1, TimeUnit.SECONDS);
            }
        }));
    }

    private String idOf(KeyValue kv) {
        String k = kv.getKey().toString(StandardCharsets.UTF_8);
        return k.substring(k.lastIndexOf('/') + 1);
    }

    /**
     * A heartbeat (or a registration) of {@code id} answered by this instance: renews its lease, or grants one when
     * it has none or the old one lapsed. Never blocks: the caller is an event loop.
     */
    public void beat(String id) {
        beaten.add(id);
    }

    /**
     * One renewer round: a keep-alive for every VM heartbeaten here since the last round, a grant where none lives.
     * The round covers every VM marked when it starts, waiting for an in-flight permit while etcd answers slower than
     * the round asks: a round that stopped at the cap and started again from the same VMs (the set's order) renewed
     * those every time and never reached the others, which lapsed though they heartbeat. Only when etcd answers
     * nothing for {@link #ANSWER_MILLIS} does the round end early, the rest staying marked for the next one.
     */
    private void renew() {
        for (String id : java.util.List.copyOf(beaten)) {
            try {
                if (!inFlight.tryAcquire(ANSWER_MILLIS, TimeUnit.MILLISECONDS)) {
                    return; // etcd does not answer: the rest stay marked for the next round
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // closing
                return;
            }
            beaten.remove(id);
            Long lease = leases.get(id);
            if (lease == null) {
                grant(id);
                continue;
            }
            // bounded: jetcd's keep-alive has no deadline of its own, and a call that never completed would hold
            // one of the IN_FLIGHT permits for good; a late one counts as failed and the VM is renewed next round
            client.getLeaseClient().keepAliveOnce(lease).orTimeout(ANSWER_MILLIS, TimeUnit.MILLISECONDS)
                .whenComplete((r, err) -> {
                    inFlight.release();
                    boolean gone = err != null ? isNoSuchLease(err) : r.getTTL() <= 0;
                    if (gone) {
                        leases.remove(id, lease);
                        if (inFlight.tryAcquire()) {
                            grant(id);
                        } else {
                            beaten.add(id); // granted in the next round
                        }
                    } else if (err != null) {
                        beaten.add(id); // etcd did not answer: try again next round
                    }
                });
        }
    }

    private static boolean isNoSuchLease(Throwable err) {
        for (Throwable t = err; t != null; t = t.getCause()) {
            if (t instanceof NoSuchLeaseException || String.valueOf(t.getMessage()).contains("lease not found")) {
                return true;
            }
        }
        return false;
    }

    /** Grants a lease and puts {@code alive/<id>} on it; the caller holds one in-flight permit. */
    private void grant(String id) {
        if (!granting.add(id)) {
            inFlight.release();
            return;
        }
        client.getLeaseClient().grant(ttlSeconds, ANSWER_MILLIS, TimeUnit.MILLISECONDS)
            .thenCompose(g -> client.getKVClient().put(store.key("alive/" + id),
                ByteSequence.from(id, StandardCharsets.UTF_8), PutOption.builder().withLeaseId(g.getID()).build())
                .thenApply(p -> g.getID()))
            .orTimeout(2 * ANSWER_MILLIS, TimeUnit.MILLISECONDS) // the put has no deadline either: the permit comes back
            .whenComplete((lease, err) -> {
                granting.remove(id);
                inFlight.release();
                if (err != null) {
                    beaten.add(id);
                }
                if (lease != null) {
                    leases.put(id, lease);
                    lapsed.remove(id);
                }
            });
    }

    /**
     * Before the leader's tick: VMs with a live lease count as seen now, VMs whose lease lapsed as lapsed (the tick
     * then expires them, unless self-preservation or a fault hold says otherwise).
     */
    public void refresh(Map<String, Liveness> liveness, long nowNanos, long ttlNanos) {
        for (Map.Entry<String, Liveness> e : liveness.entrySet()) {
            if (leases.containsKey(e.getKey())) {
                e.getValue().beat(nowNanos, Double.NaN, Double.NaN);
            }
        }
        for (String id : lapsed) {
            lapsed.remove(id);
            Liveness l = liveness.get(id);
            if (l != null && !leases.containsKey(id)) {
                l.lapse(nowNanos, ttlNanos);
            }
        }
    }

    @Override
    public void close() {
        renewer.shutdownNow();
        Watch.Watcher w = watcher;
        watcher = null;
        if (w != null) {
            w.close();
        }
    }
}
