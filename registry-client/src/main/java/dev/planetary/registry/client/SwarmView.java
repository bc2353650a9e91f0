package dev.planetary.registry.client;

import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An immutable, versioned view of the swarm: every VM Genesis lists (active and draining) by id, iterated in id
 * order, and the reservations of removed VMs still in their grace period, at one Genesis version. A new view is built whole for each batch of changes and handed over in one piece;
 * nobody ever sees half of a change.
 */
public final class SwarmView {

    /** Before anything was heard from Genesis: version 0, no VMs, no port plan. */
    public static final SwarmView EMPTY = new SwarmView(0, Collections.emptySortedMap(), Collections.emptySortedMap(),
        false, null, false);

    private final long version;
    private final Map<String, VmInfo> vms;
    private final Map<String, Reservation> reservations;
    private final boolean graceServed;
    private final PortPlanInfo portPlan;
    private final boolean selfPreservation;

    /** The maps are taken as they are: the caller hands over maps nobody changes afterwards. */
    SwarmView(long version, SortedMap<String, VmInfo> vms, SortedMap<String, Reservation> reservations,
              boolean graceServed, PortPlanInfo portPlan, boolean selfPreservation) {
        this.version = version;
        this.vms = Collections.unmodifiableSortedMap(vms);
        this.reservations = Collections.unmodifiableSortedMap(reservations);
        this.graceServed = graceServed;
        this.portPlan = portPlan;
        this.selfPreservation = selfPreservation;
    }

    /** A view built by hand (tests, tools) from a Genesis that lists no reservations: copies {@code vms}. */
    public static SwarmView of(long version, Map<String, VmInfo> vms, PortPlanInfo portPlan) {
        return new SwarmView(version, new TreeMap<>(vms), Collections.emptySortedMap(), false, portPlan, false);
    }

    /** A view built by hand (tests, tools) from a Genesis that lists its reservations in grace: copies both maps. */
    public static SwarmView of(long version, Map<String, VmInfo> vms, Map<String, Reservation> reservations,
                               PortPlanInfo portPlan) {
        return new SwarmView(version, new TreeMap<>(vms), new TreeMap<>(reservations), true, portPlan, false);
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
     * The reservations of removed VMs in their grace period, by VM id, unmodifiable, iteration sorted by id: their
     * ports belong to nobody until Genesis releases them (then they leave the view). Always empty when
     * {@link #graceServed()} is false.
     */
    public Map<String, Reservation> reservations() {
        return reservations;
    }

    /**
     * True when Genesis lists its reservations in grace (its last snapshot had a {@code grace} list), so that
     * {@link #reservations()} is the truth. False before a snapshot and from a Genesis that does not list them: a
     * follower that must keep a removed VM's ports closed then has to time the grace period itself.
     */
    public boolean graceServed() {
        return graceServed;
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
        return new SwarmView(version, new TreeMap<>(vms), new TreeMap<>(reservations), graceServed, plan,
            selfPreservation);
    }

    @Override
    public String toString() {
        return "SwarmView{version=" + version + ", vms=" + vms.size()
            + (graceServed ? ", reservations=" + reservations.size() : "") + (portPlan != null ? ", plan" : "") + "}";
    }
}
