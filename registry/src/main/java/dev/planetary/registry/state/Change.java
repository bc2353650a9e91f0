package dev.planetary.registry.state;

/**
 * One versioned change of the registry: what watchers receive and what the write-ahead log stores. A VM change
 * ({@code added}, {@code updated}, {@code draining}, {@code removed}) carries the VM; {@code released} carries the
 * reservation that was freed (its VM is already gone: the grace period after its removal passed).
 */
public record Change(long version, Type type, Vm vm, Released released, String reason) {

    /** Why a reservation is freed: its VM's grace period passed. */
    public static final String GRACE_EXPIRED = "grace_expired";

    public enum Type {
        ADDED, UPDATED, DRAINING, REMOVED, RELEASED;

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Type ofWire(String s) {
            return valueOf(s.toUpperCase(java.util.Locale.ROOT));
        }
    }

    public Change {
        if ((type == Type.RELEASED) != (released != null) || (type == Type.RELEASED) == (vm != null)) {
            throw new IllegalArgumentException("a " + type.wire() + " change carries "
                + (type == Type.RELEASED ? "a reservation" : "a VM"));
        }
    }

    /** A VM change. */
    public Change(long version, Type type, Vm vm, String reason) {
        this(version, type, vm, null, reason);
    }

    /** The id the change is about. */
    public String id() {
        return vm != null ? vm.id() : released.id();
    }
}
