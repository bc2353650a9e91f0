package dev.planetary.core.ports;

import java.util.Locale;

/** The gateway port kinds of the swarm: every VM gets one port of each. */
public enum PortKind {
    PCPU, PFSSHFS, TRANSFER;

    /** The name in the plan, the API and the proxy's {@code pin-ports}. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The kind named {@code s}, or null. */
    public static PortKind ofWire(String s) {
        for (PortKind k : values()) {
            if (k.wire().equals(s)) {
                return k;
            }
        }
        return null;
    }
}
