package dev.planetary.core.config;

import java.util.List;

/**
 * Where a frontend's connection log goes: its {@code log} lines ({@code log global} resolved to the global ones) and
 * whether {@code option tcplog} asks for HAProxy's TCP format. A frontend is logged only with both.
 */
public record FrontendLogConfig(String frontend, List<LogTarget> targets, boolean tcplog) {

    public FrontendLogConfig {
        targets = List.copyOf(targets);
    }

    /** True when the frontend's connections are logged. */
    public boolean enabled() {
        return tcplog && !targets.isEmpty();
    }
}
