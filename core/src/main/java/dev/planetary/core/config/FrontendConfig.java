package dev.planetary.core.config;

import java.util.List;

/**
 * A {@code frontend} (or the listening half of a {@code listen}).
 *
 * @param maxconn            0 when not set (the global maxconn applies)
 * @param clientTimeoutMs    {@code timeout client}: client-side inactivity, 0 for none
 * @param clientFinTimeoutMs {@code timeout client-fin}: inactivity once the client half-closed, 0 to use client
 * @param pinPorts           {@code pin-ports KIND}, or null
 */
public record FrontendConfig(String name, List<Bind> binds, String defaultBackend, int maxconn,
                             long clientTimeoutMs, long clientFinTimeoutMs, PinPorts pinPorts, Origin origin) {

    public FrontendConfig {
        binds = List.copyOf(binds);
    }

    /** A frontend that pins no ports. */
    public FrontendConfig(String name, List<Bind> binds, String defaultBackend, int maxconn, long clientTimeoutMs,
                          long clientFinTimeoutMs, Origin origin) {
        this(name, binds, defaultBackend, maxconn, clientTimeoutMs, clientFinTimeoutMs, null, origin);
    }

    /** Lowest port of any bind line (0 without binds). */
    public int lowPort() {
        return binds.stream().mapToInt(Bind::lowPort).min().orElse(0);
    }

    /** Highest port of any bind line (0 without binds). */
    public int highPort() {
        return binds.stream().mapToInt(Bind::highPort).max().orElse(0);
    }

    /** True when some bind line listens on {@code port}. */
    public boolean binds(int port) {
        for (Bind b : binds) {
            if (port >= b.lowPort() && port <= b.highPort()) {
                return true;
            }
        }
        return false;
    }

    public int portCount() {
        return binds.stream().mapToInt(Bind::portCount).sum();
    }
}
