package dev.planetary.core.ports;

import dev.planetary.core.ports.PortPlan.Ports;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The one table of port reservations: which id (and instance key) holds which offset of a {@link PortPlan}, and
 * whether it is held by a live VM or kept in its grace period after the VM was removed. Nothing else keeps
 * reservations, and nothing frees one behind its owner's back: a reservation whose grace has passed stays until the
 * owner calls {@link #expire}, which hands back what it freed so that the owner can log it. Time is an argument.
 * Not thread-safe: one owner (the registry's writer) uses it.
 */
public final class Reservations {

    /** {@code HELD} by a live VM, or kept in {@code GRACE} after its VM was removed. */
    public enum State {
        HELD, GRACE;

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** One row: {@code graceUntilNanos} matters only in {@code GRACE}. {@code instance} may be null. */
    public record Reservation(String id, String instance, Ports ports, State state, long graceUntilNanos) {
        Reservation with(State s, long until) {
            return new Reservation(id, instance, ports, s, until);
        }
    }

    private final PortPlan plan;
    /** residue class (offset mod the smallest range's size) -> the reservation holding it. */
    private final Reservation[] byResidue;
    private final Map<String, Reservation> byId = new HashMap<>();
    private final Map<String, String> byInstance = new HashMap<>();
    private int inGrace;
    /** No grace ends before this (a lower bound): {@link #expire} is free while nothing is due. */
    private long earliestGraceEnd = Long.MAX_VALUE;

    public Reservations(PortPlan plan) {
        this.plan = plan;
        this.byResidue = new Reservation[plan.residues()];
    }

    public PortPlan plan() {
        return plan;
    }

    /**
     * Reserves ports for a new id: its home offset, or the next one whose ports are all free (reservations in
     * grace count as taken, expired or not). Null when every residue class is held.
     */
    public Ports reserve(String id, String instance) {
        if (byId.containsKey(id)) {
            throw new IllegalStateException(id + " already holds a reservation");
        }
        int n = plan.offsets();
        int home = plan.homeOffset(id);
        for (int i = 0; i < n; i++) {
            int o = (home + i) % n;
            if (plan.assignable(o) && byResidue[o % byResidue.length] == null) {
                Reservation r = new Reservation(id, instance, plan.ports(o), State.HELD, 0);
                put(r);
                return r.ports();
            }
        }
        return null;
    }

    /** A removed VM's reservation is kept for it until {@code graceUntilNanos}; null when it holds none. */
    public Reservation release(String id, long graceUntilNanos) {
        Reservation r = byId.get(id);
        if (r == null) {
            return null;
        }
        if (r.state() == State.HELD) {
            inGrace++;
        }
        Reservation g = r.with(State.GRACE, graceUntilNanos);
        replace(g);
        earliestGraceEnd = Math.min(earliestGraceEnd, graceUntilNanos);
        return g;
    }

    /** The VM came back within its grace period: its reservation is held again. Null when it has none. */
    public Reservation reclaim(String id) {
        Reservation r = byId.get(id);
        if (r == null) {
            return null;
        }
        if (r.state() == State.GRACE) {
            inGrace--;
            r = r.with(State.HELD, 0);
            replace(r);
        }
        return r;
    }

    /** Frees every reservation whose grace has passed at {@code nowNanos}, in offset order, and returns them. */
    public List<Reservation> expire(long nowNanos) {
        if (inGrace == 0 || nowNanos - earliestGraceEnd < 0) {
            return List.of();
        }
        List<Reservation> freed = new ArrayList<>();
        long next = Long.MAX_VALUE;
        for (Reservation r : byResidue) {
            if (r != null && r.state() == State.GRACE) {
                if (nowNanos - r.graceUntilNanos() >= 0) {
                    freed.add(r);
                } else {
                    next = Math.min(next, r.graceUntilNanos());
                }
            }
        }
        freed.sort((a, b) -> Integer.compare(a.ports().offset(), b.ports().offset()));
        for (Reservation r : freed) {
            remove(r);
        }
        earliestGraceEnd = next;
        return freed;
    }

    /** Frees {@code id}'s reservation now (replaying a logged release); returns it, or null when it has none. */
    public Reservation free(String id) {
        Reservation r = byId.get(id);
        if (r != null) {
            remove(r);
        }
        return r;
    }

    /**
     * Puts back a reservation read from disk at {@code offset}; false when the offset is not assignable in this plan,
     * or its ports or the id are already held.
     */
    public boolean restore(String id, String instance, int offset, State state, long graceUntilNanos) {
        if (!plan.assignable(offset) || byId.containsKey(id) || byResidue[offset % byResidue.length] != null) {
            return false;
        }
        put(new Reservation(id, instance, plan.ports(offset), State.HELD, 0));
        if (state == State.GRACE) {
            release(id, graceUntilNanos);
        }
        return true;
    }

    public Reservation get(String id) {
        return byId.get(id);
    }

    /** The id holding a reservation (live or in grace) under this instance key, or null. */
    public String idOf(String instance) {
        return instance == null ? null : byInstance.get(instance);
    }

    /** Reservations held or in grace. */
    public int size() {
        return byId.size();
    }

    public int inGrace() {
        return inGrace;
    }

    /** Every reservation in offset order. */
    public List<Reservation> all() {
        List<Reservation> out = new ArrayList<>(byId.values());
        out.sort((a, b) -> Integer.compare(a.ports().offset(), b.ports().offset()));
        return out;
    }

    private void put(Reservation r) {
        byResidue[r.ports().offset() % byResidue.length] = r;
        byId.put(r.id(), r);
        if (r.instance() != null) {
            byInstance.put(r.instance(), r.id());
        }
    }

    private void replace(Reservation r) {
        byResidue[r.ports().offset() % byResidue.length] = r;
        byId.put(r.id(), r);
    }

    private void remove(Reservation r) {
        byResidue[r.ports().offset() % byResidue.length] = null;
        byId.remove(r.id());
        if (r.instance() != null && r.id().equals(byInstance.get(r.instance()))) {
            byInstance.remove(r.instance());
        }
        if (r.state() == State.GRACE) {
            inGrace--;
        }
    }
}
