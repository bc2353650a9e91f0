package dev.planetary.proxy.stats.http;

import java.util.List;

/**
 * One {@code genesis} section as the stats page shows it.
 *
 * @param current       the URL of the fail-over list the watch follows (or is trying while stale); null before it
 *                      started
 * @param connected     the watch stream is up and the view is current
 * @param stale         Genesis is unreachable: the last view stays in force
 * @param version       the version of the view in force (0 before the first)
 * @param vms           VMs in that view
 * @param staleEpisodes how many times the view went stale since start
 */
public record GenesisStatus(String name, List<String> urls, String current, boolean connected, boolean stale,
                            long version, int vms, long staleEpisodes) {

    public GenesisStatus {
        urls = List.copyOf(urls);
    }

    /** Without a current URL (not following yet). */
    public GenesisStatus(String name, List<String> urls, boolean connected, boolean stale, long version, int vms,
                         long staleEpisodes) {
        this(name, urls, null, connected, stale, version, vms, staleEpisodes);
    }
}
