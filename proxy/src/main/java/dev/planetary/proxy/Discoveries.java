package dev.planetary.proxy;

import dev.planetary.core.config.GenesisConfig;
import dev.planetary.registry.client.WatchOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;

/** The proxy's {@link Discovery} per {@code genesis} section that some backend uses; closes them together. */
public final class Discoveries implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Discoveries.class);

    static final Discoveries NONE = new Discoveries(Map.of());

    private final Map<String, Discovery> byName;

    private Discoveries(Map<String, Discovery> byName) {
        this.byName = byName;
    }

    /** Starts following every Genesis the proxy's backends discover from; returns at once. */
    static Discoveries start(Proxy proxy) {
        if (proxy.config().genesis().isEmpty()) {
            return NONE;
        }
        Map<String, Discovery> all = new LinkedHashMap<>();
        try {
            for (GenesisConfig g : proxy.config().genesis()) {
                Discovery d = new Discovery(g, proxy, System::nanoTime);
                if (!d.used()) {
                    LOG.warn("genesis '{}' {}: no backend discovers its servers from it; not followed", g.name(),
                        g.origin());
                    d.close();
                    continue;
                }
                all.put(g.name(), d);
                d.start(WatchOptions.defaults());
            }
        } catch (RuntimeException e) {
            all.values().forEach(Discovery::close);
            throw e;
        }
        return new Discoveries(Map.copyOf(all));
    }

    /** The discovery of genesis section {@code name}, or null. */
    public Discovery get(String name) {
        return byName.get(name);
    }

    @Override
    public void close() {
        byName.values().forEach(Discovery::close);
    }
}
