package dev.planetary.core.config;

import java.util.List;
import java.util.Optional;

/**
 * A whole, validated configuration: what {@link ConfigParser} returns when it found no errors.
 *
 * @param genesis    the {@code genesis} sections (registries that backends discover servers from)
 * @param statsPages the stats page sections ({@code mode http} with {@code stats enable}): not frontends
 * @param logs       each frontend's connection log settings (frontends without {@code log} lines are absent)
 */
public record ProxyConfig(GlobalConfig global, List<FrontendConfig> frontends, List<BackendConfig> backends,
                          List<GenesisConfig> genesis, List<StatsPageConfig> statsPages,
                          List<FrontendLogConfig> logs) {

    public ProxyConfig {
        frontends = List.copyOf(frontends);
        backends = List.copyOf(backends);
        genesis = List.copyOf(genesis);
        statsPages = List.copyOf(statsPages);
        logs = List.copyOf(logs);
    }

    /** A configuration without stats pages or connection logs. */
    public ProxyConfig(GlobalConfig global, List<FrontendConfig> frontends, List<BackendConfig> backends,
                       List<GenesisConfig> genesis) {
        this(global, frontends, backends, genesis, List.of(), List.of());
    }

    /** A configuration that follows no registry. */
    public ProxyConfig(GlobalConfig global, List<FrontendConfig> frontends, List<BackendConfig> backends) {
        this(global, frontends, backends, List.of());
    }

    public Optional<GenesisConfig> genesis(String name) {
        return genesis.stream().filter(g -> g.name().equals(name)).findFirst();
    }

    public Optional<BackendConfig> backend(String name) {
        return backends.stream().filter(b -> b.name().equals(name)).findFirst();
    }

    /** The connection log settings of frontend {@code name}; disabled when it has none. */
    public FrontendLogConfig log(String frontend) {
        return logs.stream().filter(l -> l.frontend().equals(frontend)).findFirst()
            .orElseGet(() -> new FrontendLogConfig(frontend, List.of(), false));
    }

    /** Listening sockets this config opens for traffic: one per port per bind (stats pages not included). */
    public int listenerCount() {
        return frontends.stream().mapToInt(FrontendConfig::portCount).sum();
    }
}
