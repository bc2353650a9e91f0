package dev.planetary.registry.state;

import dev.planetary.core.ports.PortPlan;
import java.util.List;
import java.util.Map;

/**
 * What readers see: an immutable snapshot at one version, published whole by the writer after each committed batch.
 * The liveness map holds live objects (heartbeats update them without a new view).
 */
public record View(long version, Map<String, Vm> vms, Map<String, Liveness> liveness, List<PortPlan.Holding> ports,
                   boolean selfPreservation, int lapsed, long totalCores, long totalStorageBytes, int activeCount) {

    public static View empty() {
        return new View(0, Map.of(), Map.of(), List.of(), false, 0, 0, 0, 0);
    }
}
