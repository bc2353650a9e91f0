package dev.planetary.registry.client;

import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An immutable, versioned view of the swarm: every VM Genesis lists (active and draining) by id, iterated in id
 * order, at one Genesis version. A new view is built whole for each batch of changes and handed over in one piece;
 * nobody ever sees half of a change.
 */
public final class SwarmView {

    /** Before anything was heard from Genesis: version 0, no VMs, no port plan. */
    public static final SwarmView EMPTY = new SwarmView(0, Collections.emptySortedMap(), null, false);

    private final long version;
    private final Map<String, VmInfo> vms;
    private final PortPlanInfo portPlan;
    private final boolean selfPreservation;

    /** {@code vms} is taken as it is: the caller hands over a map nobody changes afterwards. */
    SwarmView(long version, SortedMap<String, VmInfo> vms, PortPlanInfo portPlan, boolean selfPreservation) {
        this.version = version;
        this.vms = Collections.unmodifiableSortedMap(vms);
        this.portPlan = portPlan;
        this.selfPreservation = selfPreservation;
    }

    /** A view built by hand (tests, tools): copies {@code vms}. */
    public static SwarmView of(long version, Map<String, VmInfo> vms, PortPlanInfo portPlan) {
        return new SwarmView(version, new TreeMap<>(vms), portPlan, false);
    }

    /** Genesis' version this view is at: the version of the last change applied (or of the snapshot). */
    public long version() {
        return version;
    }

    /** Every VM by id, unmodifiable, iteration sorted by id. */
    public Map<String, VmInfo> vms() {
        return vms;
    }

    /**
     * Genesis' port plan, when it serves one ({@code GET /api/ports/plan}); empty from a Genesis that does not. The
     * plan is fetched at each (re)connect, so it can arrive in a later view than the first VMs.
     */
    public Optional<PortPlanInfo> portPlan() {
        return Optional.ofNullable(portPlan);
    }

    /** True when Genesis said (in its last snapshot) that it is in self-preservation: it stopped expiring VMs. */
    public boolean selfPreservation() {
        return selfPreservation;
    }

    SwarmView withPortPlan(PortPlanInfo plan) {
        return new SwarmView(version, new TreeMap<>(vms), plan, selfPreservation);
    }

    @Override
    public String toString() {
        return "SwarmView{version=" + version + ", vms=" + vms.size() + (portPlan != null ? ", plan" : "") + "}";
    }
}
