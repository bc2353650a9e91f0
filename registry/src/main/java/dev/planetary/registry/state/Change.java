package dev.planetary.registry.state;

/** One versioned change of the registry: what watchers receive and what the write-ahead log stores. */
public record Change(long version, Type type, Vm vm, String reason) {

    public enum Type {
        ADDED, UPDATED, DRAINING, REMOVED;

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        public static Type ofWire(String s) {
            return valueOf(s.toUpperCase(java.util.Locale.ROOT));
        }
    }
}
