package dev.planetary.proxy.stats.http;

import java.util.List;

/**
 * One {@code genesis} section as the stats page shows it.
 *
 * @param connected     the watch stream is up and the view is current
 * @param stale         Genesis is unreachable: the last view stays in force
 * @param version       the version of the view in force (0 before the first)
 * @param vms           VMs in that view
 * @param staleEpisodes how many times the view went stale since start
 */
public record GenesisStatus(String name, List<String> urls, boolean connected, boolean stale, long version, int vms,
                            long staleEpisodes) {

    public GenesisStatus {
        urls = List.copyOf(urls);
    }
}
