package dev.planetary.registry.state;

import dev.planetary.core.ports.PortPlan;
import dev.planetary.core.ports.PortPlan.Ports;
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
 * with self-preservation, the port plan and the version counter. Pure logic: time is an argument, no I/O, no threads.
 * One owner (the writer) calls it; every change is appended to {@link #pending()} with the next version, for the
 * writer to log, fsync and publish.
 */
public final class Registry {

    private static final Logger LOG = LoggerFactory.getLogger(Registry.class);

    /**
     * Self-preservation needs at least this many lapsed VMs: one VM dying (or the only VM of a small swarm) is the
     * ordinary case and must expire; a majority of several VMs lapsing at once points at the registry's side.
     */
    public static final int SELF_PRESERVATION_MIN_LAPSED = 2;

    /** Outcome of a registration. */
    public record Registered(Vm vm, boolean created, long version) {
    }

    /** Registration refused: every transfer slot is held. */
    public static final class RangeFullException extends Exception {
        public RangeFullException(String message) {
            super(message, null, false, false);
        }
    }

    private final Settings settings;
    private final Random random;
    private final PortPlan plan = new PortPlan();
    private final TreeMap<String, Vm> vms = new TreeMap<>();
    private final Map<String, Liveness> liveness = new HashMap<>();
    private final Map<String, Long> drainUntil = new HashMap<>();
    /** instance key -> id, for live VMs and for removed VMs whose ports are still reserved. */
    private final Map<String, String> byInstance = new HashMap<>();
    /** removed VMs whose ports are reserved: id -> instance key (or "" when none). */
    private final Map<String, String> released = new HashMap<>();
    /** when VMs expired, for the self-preservation window. */
    private final ArrayDeque<Long> recentExpiries = new ArrayDeque<>();
    private final List<Change> pending = new ArrayList<>();
    private long version;
    private boolean selfPreservation;
    private int lapsed;
    private boolean dirty = true;
    private View view = View.empty();

    public Registry(Settings settings, Random random) {
        this.settings = settings;
        this.random = random;
    }

    public Settings settings() { return settings; }
    public long version() { return version; }
    public boolean selfPreservation() { return selfPreservation; }

    /** Changes since the last call, in version order; the caller logs and publishes them. */
    public List<Change> pending() {
        List<Change> out = List.copyOf(pending);
        pending.clear();
        return out;
    }

    public Registered register(Registration r, String ip, long nowNanos, long wallMillis) throws RangeFullException {
        if (r.instance() != null) {
            String known = byInstance.get(r.instance());
            if (known != null) {
                Vm live = vms.get(known);
                if (live != null) {
                    Vm updated = live.reRegistered(r, ip);
                    liveness.get(known).beat(nowNanos, Double.NaN, Double.NaN);
                    drainUntil.remove(known);
                    if (!updated.equals(live)) {
                        put(updated);
                        return new Registered(updated, false, emit(Type.UPDATED, updated, "registered again"));
                    }
                    return new Registered(live, false, version);
                }
                // removed but its ports are still reserved for it: same id, same ports, back in the mesh
                Ports ports = plan.assign(known, nowNanos);
                released.remove(known);
                Vm back = new Vm(known, r.instance(), ip, r.cores(), r.memoryMb(), r.storageBytes(), r.services(),
                    r.labels(), ports, Status.ACTIVE, wallMillis);
                add(back, nowNanos);
                return new Registered(back, false, emit(Type.ADDED, back, "registered again within the grace period"));
            }
        }
        String id = newId();
        Ports ports = plan.assign(id, nowNanos);
        if (ports == null) {
            throw new RangeFullException(String.format(
                "port range full: transfer %d-%d has no free port (%,d VMs hold ports%s)",
                PortPlan.TRANSFER_BASE + 1, PortPlan.TRANSFER_BASE + PortPlan.TRANSFER_SLOTS - 1, plan.held(),
                released.isEmpty() ? "" : String.format(", %,d of them removed and in their grace period",
                    released.size())));
        }
        Vm vm = new Vm(id, r.instance(), ip, r.cores(), r.memoryMb(), r.storageBytes(), r.services(), r.labels(),
            ports, Status.ACTIVE, wallMillis);
        add(vm, nowNanos);
        return new Registered(vm, true, emit(Type.ADDED, vm, "registered"));
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
        if (!preserve) {
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
        for (String id : plan.sweep(nowNanos)) {
            String instance = released.remove(id);
            if (instance != null && !instance.isEmpty() && id.equals(byInstance.get(instance))) {
                byInstance.remove(instance);
            }
            dirty = true;
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
                plan.holdings(), selfPreservation, lapsed, cores, storage, active);
            dirty = false;
        }
        return view;
    }

    // ---- restore from disk ----

    /** Starts from a snapshot: every VM counts as seen now, released ports are reserved for a full grace period. */
    public void restore(long snapshotVersion, List<Vm> restoredVms, List<Released> reserved, long nowNanos) {
        version = Math.max(version, snapshotVersion);
        for (Vm vm : restoredVms) {
            replayPut(vm, nowNanos);
        }
        for (Released r : reserved) {
            if (plan.restore(r.id(), r.offset(), true, nowNanos + settings.grace().toNanos())) {
                released.put(r.id(), r.instance() == null ? "" : r.instance());
                if (r.instance() != null) {
                    byInstance.put(r.instance(), r.id());
                }
            } else {
                LOG.warn("restore: dropping the reservation of {} (offset {} is taken)", r.id(), r.offset());
            }
        }
        dirty = true;
    }

    /** Applies one logged change again (recovery); nothing is emitted. */
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
        }
        dirty = true;
    }

    /** The state to snapshot: live VMs and reservations of removed ones. */
    public List<Released> reservations() {
        List<Released> out = new ArrayList<>();
        for (Map.Entry<String, String> e : released.entrySet()) {
            Ports p = plan.of(e.getKey());
            if (p != null) {
                out.add(new Released(e.getKey(), p.offset(), e.getValue().isEmpty() ? null : e.getValue()));
            }
        }
        return out;
    }

    public List<Vm> vms() {
        return List.copyOf(vms.values());
    }

    // ---- internals ----

    private void replayPut(Vm vm, long nowNanos) {
        Vm old = vms.get(vm.id());
        if (old == null) {
            if (released.remove(vm.id()) != null) {
                plan.assign(vm.id(), nowNanos);
            } else if (!plan.restore(vm.id(), vm.ports().offset(), false, 0)) {
                throw new IllegalStateException("restore: " + vm.id() + " holds offset " + vm.ports().offset()
                    + " which is taken by another VM (corrupt data?)");
            }
            liveness.put(vm.id(), new Liveness(nowNanos));
        }
        if (vm.instance() != null) {
            byInstance.put(vm.instance(), vm.id());
        }
        vms.put(vm.id(), vm);
        if (vm.status() == Status.DRAINING) {
            drainUntil.put(vm.id(), nowNanos + settings.drainPeriod().toNanos());
        } else {
            drainUntil.remove(vm.id());
        }
    }

    private void add(Vm vm, long nowNanos) {
        vms.put(vm.id(), vm);
        liveness.put(vm.id(), new Liveness(nowNanos));
        if (vm.instance() != null) {
            byInstance.put(vm.instance(), vm.id());
        }
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
        plan.release(vm.id(), nowNanos + settings.grace().toNanos());
        released.put(vm.id(), vm.instance() == null ? "" : vm.instance());
        dirty = true;
    }

    private long emit(Type type, Vm vm, String reason) {
        version++;
        pending.add(new Change(version, type, vm, reason));
        dirty = true;
        return version;
    }

    private String newId() {
        for (int attempt = 0; attempt < 1_000; attempt++) {
            String id = String.format("vm_%06x", random.nextInt(1 << 24));
            if (!vms.containsKey(id) && plan.of(id) == null) {
                return id;
            }
        }
        throw new IllegalStateException("no free id after 1,000 attempts");
    }
}
