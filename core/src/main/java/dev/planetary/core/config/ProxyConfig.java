package dev.planetary.core.config;

import java.util.List;
import java.util.Optional;

/**
 * A whole, validated configuration: what {@link ConfigParser} returns when it found no errors.
 *
 * @param genesis the {@code genesis} sections (registries that backends discover servers from)
 */
public record ProxyConfig(GlobalConfig global, List<FrontendConfig> frontends, List<BackendConfig> backends,
                          List<GenesisConfig> genesis) {

    public ProxyConfig {
        frontends = List.copyOf(frontends);
        backends = List.copyOf(backends);
        genesis = List.copyOf(genesis);
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

    /** Listening sockets this config opens: one per port per bind. */
    public int listenerCount() {
        return frontends.stream().mapToInt(FrontendConfig::portCount).sum();
    }
}
