package dev.planetary.proxy;

import dev.planetary.core.config.GenesisConfig;
import dev.planetary.registry.client.WatchOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

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
        return NONE.with(proxy, null);
    }

    /** A reload: these followers stop (closed here); the others go on undisturbed. */
    Discoveries without(Set<String> names) {
        if (names.isEmpty()) {
            return this;
        }
        Map<String, Discovery> kept = new LinkedHashMap<>(byName);
        for (String n : names) {
            Discovery d = kept.remove(n);
            if (d != null) {
                d.close();
            }
        }
        return new Discoveries(Map.copyOf(kept));
    }

    /**
     * These followers plus one for each genesis section of the proxy's config named in {@code names} (null: every
     * one) that is not followed yet and that some backend uses; each starts at once.
     */
    Discoveries with(Proxy proxy, Set<String> names) {
        if (proxy.config().genesis().isEmpty()) {
            return this;
        }
        Map<String, Discovery> all = new LinkedHashMap<>();
        Map<String, Discovery> started = new LinkedHashMap<>();
        try {
            for (GenesisConfig g : proxy.config().genesis()) {
                if ((names != null && !names.contains(g.name())) || byName.containsKey(g.name())) {
                    continue;
                }
                Discovery d = new Discovery(g, proxy, System::nanoTime);
                if (!d.used()) {
                    LOG.warn("genesis '{}' {}: no backend discovers its servers from it; not followed", g.name(),
                        g.origin());
                    d.close();
                    continue;
                }
                started.put(g.name(), d);
                d.start(WatchOptions.defaults());
            }
        } catch (RuntimeException e) {
            started.values().forEach(Discovery::close);
            throw e;
        }
        all.putAll(byName);
        all.putAll(started);
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
