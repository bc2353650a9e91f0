package dev.planetary.proxy.stats.http;

import dev.planetary.core.config.GenesisConfig;
import dev.planetary.proxy.Discovery;
import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.stats.ProxyStats;
import dev.planetary.proxy.stats.StatsCollector;
import dev.planetary.proxy.stats.StatsSnapshot;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/** The running proxy as the stats page sees it: {@link StatsCollector}'s rows, its Genesis sections, its histograms. */
public final class ProxyStatsSource implements StatsSource {

    private final Proxy proxy;

    public ProxyStatsSource(Proxy proxy) {
        this.proxy = proxy;
    }

    @Override
    public StatsSnapshot snapshot() {
        return StatsCollector.collect(proxy, ProxyStats.now()); // the counters' time base (Netty's ticker)
    }

    @Override
    public List<GenesisStatus> genesis() {
        List<GenesisStatus> out = new ArrayList<>();
        for (GenesisConfig g : proxy.config().genesis()) {
            List<String> urls = g.urls().stream().map(URI::toString).toList();
            Discovery d = proxy.discovery(g.name());
            if (d == null) {
                out.add(new GenesisStatus(g.name(), urls, false, false, 0, 0, 0));
            } else {
                boolean connected = !d.stale() && d.viewsApplied() > 0;
                String current = d.watch() == null ? null : d.watch().currentUrl().toString();
                out.add(new GenesisStatus(g.name(), urls, current, connected, d.stale(), d.version(), d.vmCount(),
                    d.staleEpisodes()));
            }
        }
        return out;
    }

    @Override
    public LatencyHistograms histograms() {
        return proxy.histograms();
    }
}
