package dev.planetary.core.config;

/**
 * Genesis' gateway port kinds: each VM holds one port of each kind, which {@code pin-ports KIND} routes to that VM.
 * The names are the keys of a VM's {@code ports} object in Genesis' API.
 */
public enum PortKind {
    PCPU("pcpu"),
    PFSSHFS("pfsshfs"),
    TRANSFER("transfer");

    private final String key;

    PortKind(String key) {
        this.key = key;
    }

    /** The name used in the configuration and in Genesis' API. */
    public String key() {
        return key;
    }

    /** The kind of that name, or null. */
    public static PortKind of(String key) {
        for (PortKind k : values()) {
            if (k.key.equals(key)) {
                return k;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return key;
    }
}
