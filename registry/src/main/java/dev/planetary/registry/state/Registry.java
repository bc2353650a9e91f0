package dev.planetary.registry.state;

import dev.planetary.core.ports.PortPlan;
import dev.planetary.core.ports.PortPlan.Ports;
import dev.planetary.core.ports.Reservations;
import dev.planetary.core.ports.Reservations.Reservation;
import dev.planetary.core.ports.Reservations.State;
import dev.planetary.registry.state.Change.Type;
import dev.planetary.registry.state.Vm.Status;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry's state machine: register, heartbeat, leave (draining, then removed after the drain period), expiry
 * with self-preservation, port reservations and the version counter. Pure logic: time is an argument, no I/O, no
 * threads. One owner (the writer) calls it; every change is appended to {@link #pending()} with the next version, for
 * the writer to log, fsync and publish.
 *
 * <p>Reservations live in one table ({@link Reservations}): a live VM's, and a removed VM's during its grace period,
 * with its instance key. Every change to that table is a logged change: a VM added holds one, a VM removed moves it
 * to grace, and the end of a grace period is a {@code released} change of its own, so replaying the log rebuilds the
 * table exactly (a slot freed and given to a new VM is freed in the log before the new VM takes it).
 */
public final class Registry {

    private static final Logger LOG = LoggerFactory.getLogger(Registry.class);

    /**
     * Self-preservation needs at least this many lapsed VMs: one VM dying (or the only VM of a small swarm) is the
     * ordinary case and must expire; a majority of several VMs lapsing at once points at the registry's side.
     */
    public static final int SELF_PRESERVATION_MIN_LAPSED = 2;
    /** The header a re-registration presents the VM's secret in (Authorization carries the join token then). */
    public static final String SECRET_HEADER = "Genesis-Secret";

    /**
     * Outcome of a registration. {@code secret}: the VM's new secret, to be handed to it in this answer and nowhere
     * else (never logged, never stored: the VM's record holds its hash); null when the caller proved itself with the
     * secret it has.
     */
    public record Registered(Vm vm, boolean created, long version, String secret) {
        public Registered(Vm vm, boolean created, long version) {
            this(vm, created, version, null);
        }
    }

    /** A re-registration of a known instance key that neither holds the VM's secret nor comes from its address. */
    public static final class Forbidden extends Exception {
        public Forbidden(String message) {
            super(message, null, false, false);
        }
    }

    /** What a re-registration proves: where it comes from, and the secret it presents (null: none). */
    public record Caller(String sourceIp, String secret) {
    }

    /** A removed VM's address and secret hash, for its re-registration within the grace period. */
    private record Owner(String ip, String secretHash) {
    }

    /** Registration refused: every port of the smallest range is held. */
    public static final class RangeFullException extends Exception {
        public RangeFullException(String message) {
            super(message, null, false, false);
        }
    }

    private final Settings settings;
    private final Faults faults;
    private final PortPlan plan;
    private final Random random;
    private final Reservations reservations;
    private final TreeMap<String, Vm> vms = new TreeMap<>();
    private final Map<String, Liveness> liveness = new HashMap<>();
    private final Map<String, Long> drainUntil = new HashMap<>();
    /** Removed VMs in their grace period: who may claim their id and ports back. */
    private final Map<String, Owner> graceOwners = new HashMap<>();
    /** when VMs expired, for the self-preservation window. */
    private final ArrayDeque<Long> recentExpiries = new ArrayDeque<>();
    private final List<Change> pending = new ArrayList<>();
    private long version;
    private boolean selfPreservation;
    private boolean faultHold;
    private int lapsed;
    private boolean dirty = true;
    private boolean timedDuties = true;
    private View view;

    /** With the default port plan. */
    public Registry(Settings settings, Random random) {
        this(settings, PortPlan.DEFAULT, random);
    }

    public Registry(Settings settings, PortPlan plan, Random random) {
        this(settings, plan, random, new Faults());
    }

    /** {@code faults}: where Genesis reports its own unhealthy windows; expiry is held after each. */
    public Registry(Settings settings, PortPlan plan, Random random, Faults faults) {
        this.settings = settings;
        this.faults = faults;
        this.plan = plan;
        this.random = random;
        this.reservations = new Reservations(plan);
        this.view = View.empty(plan);
    }

    public Settings settings() { return settings; }
    public PortPlan plan() { return plan; }
    public long version() { return version; }
    public boolean selfPreservation() { return selfPreservation; }
    /** True while expiry is held after a fault of Genesis' own (see {@link Faults}). */
    public boolean faultHold() { return faultHold; }

    /**
     * Whether this registry takes the time-driven decisions (false on a Genesis instance that is not the elected
     * leader of a shared store): without them a registration does not free grace periods that passed (the leader's
     * tick does, within one tick).
     */
    public void timedDuties(boolean on) {
        timedDuties = on;
    }

    /**
     * On an instance that does not take the timed decisions: shows the leader's (self-preservation, expiry held) in
     * this registry's view, so status pages and snapshots on every instance say what the swarm's leader decided.
     */
    public void showDecisions(boolean leaderSelfPreservation, boolean leaderFaultHold) {
        if (leaderSelfPreservation != selfPreservation || leaderFaultHold != faultHold) {
            selfPreservation = leaderSelfPreservation;
            faultHold = leaderFaultHold;
            dirty = true;
        }
    }

    /** Changes since the last call, in version order; the caller logs and publishes them. */
    public List<Change> pending() {
        List<Change> out = List.copyOf(pending);
        pending.clear();
        return out;
    }

    /** A registration from {@code ip} itself, presenting no secret (tests of the state machine). */
    public Registered register(Registration r, String ip, long nowNanos, long wallMillis)
        throws RangeFullException, Forbidden {
        return register(r, ip, new Caller(ip, null), nowNanos, wallMillis);
    }

    /**
     * Registers a VM, or registers a known instance key again. A known instance gets its id and ports back only when
     * the caller presents the VM's secret (then it keeps that secret: no new one is issued) or comes from the VM's
     * registered address (then it gets a new secret and the old one stops working: the VM lost it, e.g. an agent
     * restarted without a secret file, or it registered before Genesis gave out secrets). Anyone else is refused,
     * and nothing changes.
     */
    public Registered register(Registration r, String ip, Caller caller, long nowNanos, long wallMillis)
        throws RangeFullException, Forbidden {
        // grace periods that passed are freed (and logged) first: the outcome depends on the time, not on whether
        // a tick ran in between, and a slot is given away only after its release is in the log
        if (timedDuties) {
            releaseExpired(nowNanos);
        }
        String known = reservations.idOf(r.instance());
        if (known != null) {
            Vm live = vms.get(known);
            Owner owner = live != null ? new Owner(live.ip(), live.secretHash()) : graceOwners.get(known);
            boolean bySecret = owner != null && VmSecret.matches(owner.secretHash(), caller.secret());
            boolean byAddress = owner != null && owner.ip() != null && owner.ip().equals(caller.sourceIp());
            if (!bySecret && !byAddress) {
                throw new Forbidden("instance '" + r.instance() + "' belongs to " + known + "; registering it again "
                    + "needs that VM's secret (header " + SECRET_HEADER + ") or must come from its registered "
                    + "address");
            }
            String secret = bySecret ? null : VmSecret.create(random);
            String hash = bySecret ? owner.secretHash() : VmSecret.hash(secret);
            if (live != null) {
                Vm updated = live.reRegistered(r, ip).withSecretHash(hash);
                liveness.get(known).beat(nowNanos, Double.NaN, Double.NaN);
                drainUntil.remove(known);
                if (!updated.equals(live)) {
                    put(updated);
                    return new Registered(updated, false, emit(Type.UPDATED, updated, "registered again"), secret);
                }
                return new Registered(live, false, version, secret);
            }
            // removed but its ports are still reserved for it: same id, same ports, back in the mesh
            Reservation res = reservations.reclaim(known);
            graceOwners.remove(known);
            Vm back = new Vm(known, r.instance(), ip, r.cores(), r.memoryMb(), r.storageBytes(), r.services(),
                r.labels(), res.ports(), Status.ACTIVE, wallMillis, hash);
            add(back, nowNanos);
            return new Registered(back, false, emit(Type.ADDED, back, "registered again within the grace period"),
                secret);
        }
        String id = newId();
        Ports ports = reservations.reserve(id, r.instance());
        if (ports == null) {
            PortPlan.Range lim = plan.range(plan.limiting());
            throw new RangeFullException(String.format(
                "port range full: %s %d-%d has no free port (%,d VMs hold ports%s)", plan.limiting().wire(),
                lim.low() + 1, lim.high(), reservations.size(), reservations.inGrace() == 0 ? ""
                    : String.format(", %,d of them removed and in their grace period", reservations.inGrace())));
        }
        String secret = VmSecret.create(random);
        Vm vm = new Vm(id, r.instance(), ip, r.cores(), r.memoryMb(), r.storageBytes(), r.services(), r.labels(),
            ports, Status.ACTIVE, wallMillis, VmSecret.hash(secret));
        add(vm, nowNanos);
        return new Registered(vm, true, emit(Type.ADDED, vm, "registered"), secret);
    }

    /**
     * Records a heartbeat; null when the VM is unknown (expired or never registered). The HTTP path calls
     * {@link View#heartbeat} on the published view directly; this is the same thing from the owner's side.
     */
    public Vm heartbeat(String id, double load, double cpuPercent, long nowNanos) {
        return view().heartbeat(id, load, cpuPercent, nowNanos);
    }

    /** A VM leaves: draining now, removed after the drain period. Null when unknown; idempotent while draining. */
    public Vm leave(String id, long nowNanos) {
        Vm vm = vms.get(id);
        if (vm == null) {
            return null;
        }
        if (vm.status() == Status.DRAINING) {
            return vm;
        }
        Vm draining = vm.withStatus(Status.DRAINING);
        put(draining);
        drainUntil.put(id, nowNanos + settings.drainPeriod().toNanos());
        emit(Type.DRAINING, draining, "left");
        if (settings.drainPeriod().isZero()) {
            remove(draining, "left", nowNanos);
        }
        return draining;
    }

    /** Periodic duties: finish drains, expire lapsed VMs (unless self-preserving), free ports whose grace passed. */
    public void tick(long nowNanos) {
        for (Map.Entry<String, Long> e : List.copyOf(drainUntil.entrySet())) {
            if (nowNanos - e.getValue() >= 0) {
                remove(vms.get(e.getKey()), "left", nowNanos);
            }
        }
        long ttl = settings.ttl().toNanos();
        while (!recentExpiries.isEmpty() && nowNanos - recentExpiries.peekFirst() > ttl) {
            recentExpiries.pollFirst();
        }
        List<Vm> lapsedVms = new ArrayList<>();
        for (Vm vm : vms.values()) {
            if (vm.status() == Status.ACTIVE && liveness.get(vm.id()).lapsed(nowNanos, ttl)) {
                lapsedVms.add(vm);
            }
        }
        int lapsedInWindow = lapsedVms.size() + recentExpiries.size();
        int population = vms.size() + recentExpiries.size();
        boolean preserve = lapsedInWindow >= SELF_PRESERVATION_MIN_LAPSED && 2 * lapsedInWindow > population;
        if (preserve != selfPreservation) {
            selfPreservation = preserve;
            dirty = true;
            if (preserve) {
                LOG.warn("self-preservation ON: {} of {} VMs lapsed within one TTL ({} ms); not expiring any VM, the "
                    + "fault is more likely on the registry's side (network, clock, overload)", lapsedInWindow,
                    population, settings.ttl().toMillis());
            } else {
                LOG.info("self-preservation OFF: {} of {} VMs lapsed within one TTL; expiring again", lapsedInWindow,
                    population);
            }
        }
        if (lapsed != lapsedVms.size()) {
            lapsed = lapsedVms.size();
            dirty = true;
        }
        boolean hold = faults.holding(nowNanos, ttl);
        if (hold != faultHold) {
            faultHold = hold;
            dirty = true;
            if (hold) {
                LOG.warn("expiry held: Genesis itself was unhealthy ({}); no VM expires until every VM has had a whole "
                    + "TTL ({} ms) to heartbeat again", faults.lastWhat(), settings.ttl().toMillis());
            } else {
                LOG.info("expiry resumed: one TTL passed since Genesis' last fault");
            }
        }
        if (!preserve && !hold) {
            for (Vm vm : lapsedVms) {
                // a heartbeat that raced this tick wins: the VM stays
                if (liveness.get(vm.id()).expire(nowNanos, ttl)) {
                    recentExpiries.addLast(nowNanos);
                    remove(vm, "expired", nowNanos);
                }
            }
            if (!lapsedVms.isEmpty()) {
                lapsed = 0;
            }
        }
        releaseExpired(nowNanos);
    }

    /** Frees the reservations whose grace period has passed, each as a logged {@code released} change. */
    private void releaseExpired(long nowNanos) {
        for (Reservation r : reservations.expire(nowNanos)) {
            Owner o = graceOwners.remove(r.id());
            emitReleased(new Released(r.id(), r.instance(), r.ports(), o == null ? null : o.ip(),
                o == null ? null : o.secretHash()), Change.GRACE_EXPIRED);
        }
    }

    /** The current immutable view (rebuilt only after a change). */
    public View view() {
        if (dirty) {
            long cores = 0;
            long storage = 0;
            int active = 0;
            for (Vm vm : vms.values()) {
                if (vm.status() == Status.ACTIVE) {
                    cores += vm.cores();
                    storage += vm.storageBytes();
                    active++;
                }
            }
            view = new View(version, Collections.unmodifiableMap(new TreeMap<>(vms)), Map.copyOf(liveness),
                reservations.all(), selfPreservation, lapsed, cores, storage, active, plan, faultHold);
            dirty = false;
        }
        return view;
    }

    // ---- restore from disk ----

    /**
     * Starts from a snapshot: every VM counts as seen now, released ports are reserved for a full grace period.
     *
     * @throws IllegalStateException when the snapshot contradicts itself or this port plan (damaged data)
     */
    public void restore(long snapshotVersion, List<Vm> restoredVms, List<Released> reserved, long nowNanos) {
        version = Math.max(version, snapshotVersion);
        for (Vm vm : restoredVms) {
            replayPut(vm, nowNanos);
        }
        for (Released r : reserved) {
            checkPorts(r.id(), r.ports());
            if (!reservations.restore(r.id(), r.instance(), r.offset(), State.GRACE,
                nowNanos + settings.grace().toNanos())) {
                throw new IllegalStateException("restore: the reservation of " + r.id() + " (offset " + r.offset()
                    + ") clashes with another one (damaged data?)");
            }
            if (r.ip() != null || r.secretHash() != null) {
                graceOwners.put(r.id(), new Owner(r.ip(), r.secretHash()));
            }
        }
        dirty = true;
    }

    /**
     * Applies one logged change again (recovery); nothing is emitted.
     *
     * @throws IllegalStateException when the change contradicts the state (damaged data)
     */
    public void replay(Change c, long nowNanos) {
        if (c.version() <= version) {
            return;
        }
        version = c.version();
        switch (c.type()) {
            case ADDED, UPDATED, DRAINING -> replayPut(c.vm(), nowNanos);
            case REMOVED -> {
                if (vms.containsKey(c.vm().id())) {
                    drop(c.vm(), nowNanos);
                }
            }
            case RELEASED -> {
                Reservation r = reservations.get(c.id());
                if (r == null || r.state() != State.GRACE || r.ports().offset() != c.released().offset()) {
                    throw new IllegalStateException("replay: version " + c.version() + " releases the reservation of "
                        + c.id() + " at offset " + c.released().offset() + ", but it holds "
                        + (r == null ? "none" : r.state().wire() + " offset " + r.ports().offset()) + " (damaged data?)");
                }
                reservations.free(c.id());
                graceOwners.remove(c.id());
            }
        }
        dirty = true;
    }

    /**
     * After a reload from a shared store: the VMs that were already known keep their heartbeat state (the same
     * objects, so heartbeats answered on the old view still count), instead of counting as seen now.
     */
    public void adoptLiveness(Map<String, Liveness> known) {
        for (Map.Entry<String, Liveness> e : known.entrySet()) {
            if (vms.containsKey(e.getKey()) && !e.getValue().gone()) {
                liveness.put(e.getKey(), e.getValue());
            }
        }
        dirty = true;
    }

    /** The reservations of removed VMs, for a snapshot (live VMs' are in their records). */
    public List<Released> reservations() {
        List<Released> out = new ArrayList<>();
        for (Reservation r : reservations.all()) {
            if (r.state() == State.GRACE) {
                Owner o = graceOwners.get(r.id());
                out.add(new Released(r.id(), r.instance(), r.ports(), o == null ? null : o.ip(),
                    o == null ? null : o.secretHash()));
            }
        }
        return out;
    }

    /** Every reservation (live VMs' and those in grace), in offset order. */
    public List<Reservation> reservationTable() {
        return reservations.all();
    }

    public List<Vm> vms() {
        return List.copyOf(vms.values());
    }

    // ---- internals ----

    private void replayPut(Vm vm, long nowNanos) {
        Vm old = vms.get(vm.id());
        if (old == null) {
            checkPorts(vm.id(), vm.ports());
            Reservation r = reservations.get(vm.id());
            if (r != null && r.state() == State.GRACE && r.ports().equals(vm.ports())) {
                reservations.reclaim(vm.id());
                graceOwners.remove(vm.id());
            } else if (r != null || !reservations.restore(vm.id(), vm.instance(), vm.ports().offset(), State.HELD, 0)) {
                Reservation holder = reservations.all().stream()
                    .filter(x -> x.ports().offset() % plan.residues() == vm.ports().offset() % plan.residues())
                    .findFirst().orElse(null);
                throw new IllegalStateException("restore: " + vm.id() + " holds offset " + vm.ports().offset()
                    + " which is taken by " + (holder == null ? "another VM" : holder.id() + " ("
                    + holder.state().wire() + ", offset " + holder.ports().offset() + ")") + " (damaged data?)");
            }
            liveness.put(vm.id(), new Liveness(nowNanos));
        } else if (!old.ports().equals(vm.ports())) {
            throw new IllegalStateException("restore: " + vm.id() + " changes ports from offset " + old.ports().offset()
                + " to " + vm.ports().offset() + " (damaged data?)");
        }
        vms.put(vm.id(), vm);
        if (vm.status() == Status.DRAINING) {
            drainUntil.put(vm.id(), nowNanos + settings.drainPeriod().toNanos());
        } else {
            drainUntil.remove(vm.id());
        }
    }

    /** Ports read from disk must be this plan's ports of their offset (another plan's are refused before). */
    private void checkPorts(String id, Ports stored) {
        Ports mine = plan.assignable(stored.offset()) ? plan.ports(stored.offset()) : null;
        if (!stored.equals(mine)) {
            throw new IllegalStateException("restore: " + id + " holds " + stored + ", which port plan " + plan.spec()
                + " does not give to offset " + stored.offset() + " (damaged data?)");
        }
    }

    private void add(Vm vm, long nowNanos) {
        vms.put(vm.id(), vm);
        liveness.put(vm.id(), new Liveness(nowNanos));
        dirty = true;
    }

    private void put(Vm vm) {
        vms.put(vm.id(), vm);
        dirty = true;
    }

    private void remove(Vm vm, String reason, long nowNanos) {
        drop(vm, nowNanos);
        emit(Type.REMOVED, vm, reason);
    }

    private void drop(Vm vm, long nowNanos) {
        vms.remove(vm.id());
        liveness.remove(vm.id()).markGone();
        drainUntil.remove(vm.id());
        reservations.release(vm.id(), nowNanos + settings.grace().toNanos());
        graceOwners.put(vm.id(), new Owner(vm.ip(), vm.secretHash()));
        dirty = true;
    }

    private long emit(Type type, Vm vm, String reason) {
        version++;
        pending.add(new Change(version, type, vm, reason));
        dirty = true;
        return version;
    }

    private void emitReleased(Released r, String reason) {
        version++;
        pending.add(new Change(version, Type.RELEASED, null, r, reason));
        dirty = true;
    }

    private String newId() {
        for (int attempt = 0; attempt < 1_000; attempt++) {
            String id = String.format("vm_%06x", random.nextInt(1 << 24));
            if (!vms.containsKey(id) && reservations.get(id) == null) {
                return id;
            }
        }
        throw new IllegalStateException("no free id after 1,000 attempts");
    }
}
