package dev.planetary.proxy.stats.http;

import dev.planetary.proxy.stats.StatsSnapshot;
import java.util.List;

/** What the stats page and /metrics read, each time one is asked for (never cached: the page is the live state). */
public interface StatsSource {

    /** The {@code show stat} rows and {@code show info} fields now. */
    StatsSnapshot snapshot();

    /** Each {@code genesis} section's state (empty without discovery). */
    List<GenesisStatus> genesis();

    /** The planetary_ histograms, or null when the proxy records none. */
    LatencyHistograms histograms();
}
