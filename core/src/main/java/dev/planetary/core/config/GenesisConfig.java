package dev.planetary.core.config;

import java.net.URI;
import java.util.List;

/**
 * A {@code genesis NAME} section: a Genesis registry that backends can take their servers from.
 *
 * @param urls base URLs ({@code http://HOST:PORT}), tried in order: the first is preferred, the others are
 *             fail-overs (one {@code url} line each)
 */
public record GenesisConfig(String name, List<URI> urls, Origin origin) {

    public GenesisConfig {
        urls = List.copyOf(urls);
    }
}
