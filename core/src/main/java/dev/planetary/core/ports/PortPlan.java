package dev.planetary.core.ports;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The swarm's gateway port plan: one range of ports per {@link PortKind}, whose first port is the kind's balanced
 * entrance and is never assigned. Immutable; {@link Reservations} keeps who holds what.
 *
 * <p>A VM holds one <em>offset</em> {@code o} and gets port {@code low + (o mod u)} of each kind, where {@code u} is
 * the kind's range size rounded down to a multiple of the smallest range's size. The first offset tried is
 * {@code int(hex, 16) mod N} of the id's hex part (N, the number of offsets, is the largest {@code u}), as in the
 * original swarm; a taken offset is never handed out twice: assignment probes to the next offset whose ports are all
 * free. With the default plan ({@value #DEFAULT_SPEC}) this is exactly the seed's rule: 10000+o, 20000+o and
 * 30000+(o mod 2000), offsets 0..9999.
 *
 * <p>Why the rounding: two offsets then clash in some kind exactly when they are equal modulo the smallest size, so
 * any set of VMs holding distinct residues fits, and the cap is always reached: {@link #maxVms()} = smallest size - 1
 * (the residue 0 is the entrance in every kind). Without it, ranges of sizes such as 10, 7 and 6 would let a few
 * holders block more offsets than they hold and the registry would refuse VMs below its cap. The last
 * {@code size mod smallest} ports of a larger range are then never assigned; like the entrance, they are balanced.
 */
public final class PortPlan {

    /** The seed's plan: 1,999 VMs (the transfer range is the smallest, 2,000 ports with its entrance). */
    public static final String DEFAULT_SPEC = "pcpu=10000-19999,pfsshfs=20000-29999,transfer=30000-31999";
    public static final PortPlan DEFAULT = parse(DEFAULT_SPEC);
    /** The entrance and at least one port to assign. */
    public static final int MIN_RANGE_SIZE = 2;

    /** One kind's ports: {@code low} is the entrance. */
    public record Range(int low, int high) {
        public int size() {
            return high - low + 1;
        }

        @Override
        public String toString() {
            return low + "-" + high;
        }
    }

    /** The ports of one offset. */
    public record Ports(int offset, int pcpu, int pfsshfs, int transfer) {
        public int port(PortKind k) {
            return switch (k) {
                case PCPU -> pcpu;
                case PFSSHFS -> pfsshfs;
                case TRANSFER -> transfer;
            };
        }
    }

    private final EnumMap<PortKind, Range> ranges;
    /** Per kind (by ordinal): the range size rounded down to a multiple of {@link #smallest}. */
    private final int[] usable;
    private final int smallest;
    private final PortKind limiting;
    private final int offsets;

    private PortPlan(EnumMap<PortKind, Range> ranges) {
        this.ranges = ranges;
        int min = Integer.MAX_VALUE;
        PortKind lim = null;
        for (Map.Entry<PortKind, Range> e : ranges.entrySet()) {
            if (e.getValue().size() < min) {
                min = e.getValue().size();
                lim = e.getKey();
            }
        }
        this.smallest = min;
        this.limiting = lim;
        this.usable = new int[PortKind.values().length];
        int n = 0;
        for (Map.Entry<PortKind, Range> e : ranges.entrySet()) {
            int u = e.getValue().size() / min * min;
            usable[e.getKey().ordinal()] = u;
            n = Math.max(n, u);
        }
        this.offsets = n;
    }

    /**
     * Parses {@code pcpu=LOW-HIGH,pfsshfs=LOW-HIGH,transfer=LOW-HIGH} (any order, every kind exactly once).
     *
     * @throws IllegalArgumentException with a message naming the kind or item at fault
     */
    public static PortPlan parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("empty; expected " + DEFAULT_SPEC);
        }
        EnumMap<PortKind, Range> ranges = new EnumMap<>(PortKind.class);
        for (String item : spec.split(",", -1)) {
            String t = item.trim();
            int eq = t.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("'" + clip(t) + "' is not KIND=LOW-HIGH (e.g. pcpu=10000-19999)");
            }
            String name = t.substring(0, eq).trim();
            PortKind kind = PortKind.ofWire(name);
            if (kind == null) {
                throw new IllegalArgumentException("unknown kind '" + clip(name) + "' (kinds: " + kindList() + ")");
            }
            if (ranges.containsKey(kind)) {
                throw new IllegalArgumentException(name + ": given twice");
            }
            ranges.put(kind, range(name, t.substring(eq + 1).trim()));
        }
        return of(ranges);
    }

    /** A plan from explicit ranges, validated as {@link #parse} does. */
    public static PortPlan of(Map<PortKind, Range> given) {
        EnumMap<PortKind, Range> ranges = new EnumMap<>(PortKind.class);
        ranges.putAll(given);
        for (PortKind k : PortKind.values()) {
            Range r = ranges.get(k);
            if (r == null) {
                throw new IllegalArgumentException("missing kind '" + k.wire() + "' (every kind needs a range: "
                    + kindList() + ")");
            }
            check(k.wire(), r);
        }
        List<PortKind> kinds = new ArrayList<>(ranges.keySet());
        for (int i = 0; i < kinds.size(); i++) {
            for (int j = i + 1; j < kinds.size(); j++) {
                Range a = ranges.get(kinds.get(i));
                Range b = ranges.get(kinds.get(j));
                if (a.low() <= b.high() && b.low() <= a.high()) {
                    throw new IllegalArgumentException(kinds.get(i).wire() + " " + a + " overlaps "
                        + kinds.get(j).wire() + " " + b + " (a port belongs to one kind)");
                }
            }
        }
        return new PortPlan(ranges);
    }

    private static Range range(String kind, String text) {
        int dash = text.indexOf('-');
        if (dash <= 0 || dash == text.length() - 1) {
            throw new IllegalArgumentException(kind + ": '" + clip(text) + "' is not a range LOW-HIGH");
        }
        int low = port(kind, text.substring(0, dash).trim());
        int high = port(kind, text.substring(dash + 1).trim());
        Range r = new Range(low, high);
        check(kind, r);
        return r;
    }

    private static void check(String kind, Range r) {
        if (r.low() < 1 || r.high() > 65_535) {
            throw new IllegalArgumentException(kind + ": " + r + " is not within 1-65535");
        }
        if (r.low() > r.high()) {
            throw new IllegalArgumentException(kind + ": low " + r.low() + " is above high " + r.high());
        }
        if (r.size() < MIN_RANGE_SIZE) {
            throw new IllegalArgumentException(kind + ": " + r + " has " + r.size() + " port; a range needs its "
                + "entrance port and at least one port to assign");
        }
    }

    private static int port(String kind, String s) {
        if (!s.matches("\\d{1,5}")) {
            throw new IllegalArgumentException(kind + ": '" + clip(s) + "' is not a port number");
        }
        int p = Integer.parseInt(s);
        if (p < 1 || p > 65_535) {
            throw new IllegalArgumentException(kind + ": port " + p + " is not within 1-65535");
        }
        return p;
    }

    private static String kindList() {
        StringBuilder b = new StringBuilder();
        for (PortKind k : PortKind.values()) {
            b.append(b.length() == 0 ? "" : ", ").append(k.wire());
        }
        return b.toString();
    }

    private static String clip(String s) {
        String t = s.length() > 40 ? s.substring(0, 40) + "..." : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }

    public Range range(PortKind k) {
        return ranges.get(k);
    }

    /** How many VMs can hold ports at once: one per non-entrance port of the smallest range. */
    public int maxVms() {
        return smallest - 1;
    }

    /** The kind with the smallest range (the first in kind order on a tie): the one that caps the VMs. */
    public PortKind limiting() {
        return limiting;
    }

    /** Offsets 0..offsets()-1; two offsets clash exactly when they are equal modulo {@link #residues()}. */
    public int offsets() {
        return offsets;
    }

    /** The smallest range's size: the number of residue classes, class 0 being the entrances. */
    public int residues() {
        return smallest;
    }

    /** The highest port of kind {@code k} that can be assigned (ports above it are balanced like the entrance). */
    public int highestAssignable(PortKind k) {
        return ranges.get(k).low() + usable[k.ordinal()] - 1;
    }

    /** The first offset probed for an id: {@code int(hex, 16) mod offsets()} of the part after {@code vm_}. */
    public int homeOffset(String id) {
        String hex = id.startsWith("vm_") ? id.substring(3) : id;
        return (int) (Long.parseLong(hex, 16) % offsets);
    }

    /** False for the entrances: an offset whose port of some kind is that kind's first. */
    public boolean assignable(int offset) {
        return offset > 0 && offset < offsets && offset % smallest != 0;
    }

    /** The ports of an assignable offset. */
    public Ports ports(int offset) {
        if (!assignable(offset)) {
            throw new IllegalArgumentException("offset " + offset + " is not assignable in plan " + spec());
        }
        return new Ports(offset, port(PortKind.PCPU, offset), port(PortKind.PFSSHFS, offset),
            port(PortKind.TRANSFER, offset));
    }

    private int port(PortKind k, int offset) {
        return ranges.get(k).low() + offset % usable[k.ordinal()];
    }

    /** The canonical text form, in kind order: what {@link #parse} reads. */
    public String spec() {
        StringBuilder b = new StringBuilder();
        for (PortKind k : PortKind.values()) {
            b.append(b.length() == 0 ? "" : ",").append(k.wire()).append('=').append(ranges.get(k));
        }
        return b.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PortPlan p && p.ranges.equals(ranges);
    }

    @Override
    public int hashCode() {
        return ranges.hashCode();
    }

    @Override
    public String toString() {
        return spec();
    }
}
