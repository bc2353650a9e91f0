package dev.planetary.registry.state;

import dev.planetary.core.ports.PortPlan;
import dev.planetary.core.ports.Reservations.Reservation;
import java.util.List;
import java.util.Map;

/**
 * What readers see: an immutable snapshot at one version, published whole by the writer after each committed batch.
 * The liveness map holds live objects (heartbeats update them without a new view). {@code ports} is the reservation
 * table in offset order: live VMs' and those in their grace period.
 */
public record View(long version, Map<String, Vm> vms, Map<String, Liveness> liveness, List<Reservation> ports,
                   boolean selfPreservation, int lapsed, long totalCores, long totalStorageBytes, int activeCount,
                   PortPlan plan, boolean faultHold) {

    /** Without a fault hold. */
    public View(long version, Map<String, Vm> vms, Map<String, Liveness> liveness, List<Reservation> ports,
                boolean selfPreservation, int lapsed, long totalCores, long totalStorageBytes, int activeCount,
                PortPlan plan) {
        this(version, vms, liveness, ports, selfPreservation, lapsed, totalCores, totalStorageBytes, activeCount, plan,
            false);
    }

    /**
     * Records a heartbeat from any thread (see {@link Liveness}); null when the VM is not in this view or is gone.
     * A VM a reader can see here was published after its registration committed, so a VM that got its answer is
     * always found.
     */
    public Vm heartbeat(String id, double load, double cpuPercent, long nowNanos) {
        Liveness l = liveness.get(id);
        return l != null && l.beat(nowNanos, load, cpuPercent) ? vms.get(id) : null;
    }

    public static View empty() {
        return empty(PortPlan.DEFAULT);
    }

    public static View empty(PortPlan plan) {
        return new View(0, Map.of(), Map.of(), List.of(), false, 0, 0, 0, 0, plan, false);
    }
}
