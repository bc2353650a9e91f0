package dev.planetary.core.ports;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The swarm's gateway port plan: a VM holding offset {@code o} gets 10000+o (pcpu), 20000+o (pfsshfs) and
 * 30000+(o mod 2000) (transfer). The home offset comes from the id's hash as in the original swarm
 * ({@code int(hex, 16) % 10000}); unlike the original, a taken offset is never handed out twice: assignment probes
 * linearly to the next offset whose three ports are all free.
 *
 * <p>Offset 0, and every offset whose transfer slot is 0, are never assigned: 10000, 20000 and 30000 are the balanced
 * entrance ports. The transfer range has only 2,000 slots, one of them the entrance, so at most
 * {@value #MAX_HOLDERS} VMs can hold ports at the same time: the transfer slot is the binding constraint, and an
 * offset is free exactly when its transfer slot is free.
 *
 * <p>A released offset stays reserved until a grace period has passed (the time is an argument), so that a VM that
 * expired and comes back with its instance key gets its ports back, and a proxy never sends a late connection for an
 * old VM to a new one. Not thread-safe: one owner (the registry's writer) uses it.
 */
public final class PortPlan {

    public static final int PCPU_BASE = 10_000;
    public static final int PFSSHFS_BASE = 20_000;
    public static final int TRANSFER_BASE = 30_000;
    /** Offsets 0..9999; 0 is the entrance and never assigned. */
    public static final int OFFSETS = 10_000;
    /** Transfer slots 0..1999; slot 0 (port 30000) is the entrance and never assigned. */
    public static final int TRANSFER_SLOTS = 2_000;
    /** How many VMs can hold ports at once: one per usable transfer slot. */
    public static final int MAX_HOLDERS = TRANSFER_SLOTS - 1;

    /** The three gateway ports of one offset. */
    public record Ports(int offset) {
        public Ports {
            if (!assignable(offset)) {
                throw new IllegalArgumentException("offset " + offset + " is not assignable");
            }
        }

        public int pcpu() { return PCPU_BASE + offset; }
        public int pfsshfs() { return PFSSHFS_BASE + offset; }
        public int transfer() { return TRANSFER_BASE + offset % TRANSFER_SLOTS; }
    }

    /** One row of the port table: who holds an offset, and until when a released one stays reserved. */
    public record Holding(String id, Ports ports, boolean released, long reservedUntilNanos) {
    }

    /** slot -> offset holding it, or -1. */
    private final int[] slotHolder = new int[TRANSFER_SLOTS];
    /** offset -> id holding it (assigned or in grace), or null. */
    private final String[] owner = new String[OFFSETS];
    /** offset -> end of its grace period, when released; Long.MIN_VALUE while assigned. */
    private final long[] graceUntil = new long[OFFSETS];
    private final boolean[] released = new boolean[OFFSETS];
    private final Map<String, Integer> byId = new HashMap<>();
    private int held;

    public PortPlan() {
        Arrays.fill(slotHolder, -1);
    }

    /** The first offset probed for an id: {@code int(hex, 16) % 10000} of the part after {@code vm_}. */
    public static int homeOffset(String id) {
        String hex = id.startsWith("vm_") ? id.substring(3) : id;
        return (int) (Long.parseLong(hex, 16) % OFFSETS);
    }

    /** Offset 0 and offsets on transfer slot 0 are the entrance ports. */
    public static boolean assignable(int offset) {
        return offset > 0 && offset < OFFSETS && offset % TRANSFER_SLOTS != 0;
    }

    /**
     * The ports of {@code id}: the ones it already holds (also during its grace period), or the first free offset
     * probing from its home offset; null when every transfer slot is held.
     */
    public Ports assign(String id, long nowNanos) {
        Integer mine = byId.get(id);
        if (mine != null) {
            int o = mine;
            if (released[o]) {
                released[o] = false;
                graceUntil[o] = Long.MIN_VALUE;
            }
            return new Ports(o);
        }
        int home = homeOffset(id);
        for (int i = 0; i < OFFSETS; i++) {
            int o = (home + i) % OFFSETS;
            if (assignable(o) && slotFree(o % TRANSFER_SLOTS, nowNanos)) {
                take(id, o);
                return new Ports(o);
            }
        }
        return null;
    }

    /** Puts back a holding read from disk; false when the offset or its transfer slot is held by another id. */
    public boolean restore(String id, int offset, boolean inGrace, long graceUntilNanos) {
        if (!assignable(offset) || byId.containsKey(id) || slotHolder[offset % TRANSFER_SLOTS] != -1) {
            return false;
        }
        take(id, offset);
        if (inGrace) {
            released[offset] = true;
            graceUntil[offset] = graceUntilNanos;
        }
        return true;
    }

    /** The VM left or expired: its offset stays reserved for it until {@code reservedUntilNanos}. */
    public void release(String id, long reservedUntilNanos) {
        Integer o = byId.get(id);
        if (o != null) {
            released[o] = true;
            graceUntil[o] = reservedUntilNanos;
        }
    }

    /** Frees every offset whose grace period has passed; returns the ids that lost their reservation. */
    public List<String> sweep(long nowNanos) {
        List<String> freed = new ArrayList<>();
        for (Map.Entry<String, Integer> e : List.copyOf(byId.entrySet())) {
            int o = e.getValue();
            if (released[o] && nowNanos - graceUntil[o] >= 0) {
                free(o);
                freed.add(e.getKey());
            }
        }
        return freed;
    }

    public Ports of(String id) {
        Integer o = byId.get(id);
        return o == null ? null : new Ports(o);
    }

    /** Offsets held, assigned or in grace. */
    public int held() {
        return held;
    }

    /** Every holding in offset order. */
    public List<Holding> holdings() {
        List<Holding> out = new ArrayList<>(held);
        for (int o = 1; o < OFFSETS; o++) {
            if (owner[o] != null) {
                out.add(new Holding(owner[o], new Ports(o), released[o], released[o] ? graceUntil[o] : 0));
            }
        }
        return out;
    }

    private boolean slotFree(int slot, long nowNanos) {
        int o = slotHolder[slot];
        if (o == -1) {
            return true;
        }
        if (released[o] && nowNanos - graceUntil[o] >= 0) {
            free(o);
            return true;
        }
        return false;
    }

    private void take(String id, int o) {
        owner[o] = id;
        slotHolder[o % TRANSFER_SLOTS] = o;
        released[o] = false;
        graceUntil[o] = Long.MIN_VALUE;
        byId.put(id, o);
        held++;
    }

    private void free(int o) {
        byId.remove(owner[o]);
        owner[o] = null;
        slotHolder[o % TRANSFER_SLOTS] = -1;
        released[o] = false;
        held--;
    }
}
