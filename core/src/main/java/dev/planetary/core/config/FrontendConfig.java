package dev.planetary.core.config;

import java.util.List;

/**
 * A {@code frontend} (or the listening half of a {@code listen}).
 *
 * @param maxconn            0 when not set (the global maxconn applies)
 * @param clientTimeoutMs    {@code timeout client}: client-side inactivity, 0 for none
 * @param clientFinTimeoutMs {@code timeout client-fin}: inactivity once the client half-closed, 0 to use client
 */
public record FrontendConfig(String name, List<Bind> binds, String defaultBackend, int maxconn,
                             long clientTimeoutMs, long clientFinTimeoutMs, Origin origin) {

    public FrontendConfig {
        binds = List.copyOf(binds);
    }

    public int portCount() {
        return binds.stream().mapToInt(Bind::portCount).sum();
    }
}
