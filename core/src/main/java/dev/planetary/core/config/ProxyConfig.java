package dev.planetary.core.config;

import java.util.List;
import java.util.Optional;

/** A whole, validated configuration: what {@link ConfigParser} returns when it found no errors. */
public record ProxyConfig(GlobalConfig global, List<FrontendConfig> frontends, List<BackendConfig> backends) {

    public ProxyConfig {
        frontends = List.copyOf(frontends);
        backends = List.copyOf(backends);
    }

    public Optional<BackendConfig> backend(String name) {
        return backends.stream().filter(b -> b.name().equals(name)).findFirst();
    }

    /** Listening sockets this config opens: one per port per bind. */
    public int listenerCount() {
        return frontends.stream().mapToInt(FrontendConfig::portCount).sum();
    }
}
