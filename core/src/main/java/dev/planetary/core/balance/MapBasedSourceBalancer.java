package dev.planetary.core.balance;

import dev.planetary.core.backend.Server;
import java.util.List;

/**
 * {@code balance source} with {@code hash-type map-based} (HAProxy's default): the mixed source hash modulo the
 * total usable weight, looked up in a weight map where each server appears {@code weight} times, spread smoothly
 * (HAProxy's {@code lb_map.c}; here the map is the SWRR cycle of {@link Swrr}, with weights divided by their gcd).
 *
 * <p>As in HAProxy this is not consistent: any change of the usable set or of a weight remaps most clients. If the
 * mapped server is full, unusable or {@code avoid}, the next map entries are tried (see {@link SwrrTableBalancer}),
 * so a client's fallback is deterministic too.
 */
public final class MapBasedSourceBalancer extends SwrrTableBalancer {

    public MapBasedSourceBalancer(List<Server> servers) {
        super(servers);
    }

    @Override
    public Balancer successor(List<Server> servers) {
        return new MapBasedSourceBalancer(servers);
    }

    @Override
    int start(int sourceHash, int length) {
        return index(sourceHash, length);
    }

    /** Map position of a source: the mixed hash modulo the map length (the reduced total weight). */
    static int index(int sourceHash, int mapLength) {
        return Integer.remainderUnsigned(Hashing.mix32(sourceHash), mapLength);
    }

    /** The current map as servers, for tests. */
    List<Server> mapView() {
        return tableView();
    }
}
