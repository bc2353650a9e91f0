package dev.planetary.core.balance;

import dev.planetary.core.backend.Server;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code balance source} with {@code hash-type map-based} (HAProxy's default): the mixed source hash modulo the
 * total usable weight, looked up in a weight map where each server appears {@code weight} times, spread smoothly
 * (HAProxy's {@code lb_map.c}; here the map is the SWRR cycle of {@link Swrr}, with weights divided by their gcd).
 *
 * <p>As in HAProxy this is not consistent: any change of the usable set or of a weight remaps most clients. The map
 * is rebuilt on control callbacks and published whole. If the mapped server is full, unusable or {@code avoid},
 * the next map entries are tried, then the distinct servers once; null only if none fits.
 */
public final class MapBasedSourceBalancer implements Balancer {

    /** Map entries tried after the mapped one before scanning servers; keeps a client's fallback deterministic. */
    private static final int PROBES = 8;

    private final List<Server> members = new ArrayList<>();
    private volatile RoundRobinBalancer.Table map;

    public MapBasedSourceBalancer(List<Server> servers) {
        members.addAll(Balancers.distinct(servers));
        rebuild();
    }

    @Override
    public Server pick(int sourceHash, Server avoid) {
        RoundRobinBalancer.Table t = map;
        int[] seq = t.seq;
        int len = seq.length;
        if (len == 0) {
            return null;
        }
        Server[] servers = t.servers;
        int i = index(sourceHash, len);
        int probes = Math.min(len, PROBES + 1);
        for (int p = 0; p < probes; p++) {
            Server s = servers[seq[i]];
            if (s != avoid && s.usable() && s.tryAcquire()) {
                return s;
            }
            if (++i == len) {
                i = 0;
            }
        }
        int n = servers.length;
        int k = seq[i];
        for (int j = 0; j < n; j++) {
            Server s = servers[k];
            if (s != avoid && s.usable() && s.tryAcquire()) {
                return s;
            }
            if (++k == n) {
                k = 0;
            }
        }
        return null;
    }

    /** Map position of a source: the mixed hash modulo the map length (the reduced total weight). */
    static int index(int sourceHash, int mapLength) {
        return Integer.remainderUnsigned(Hashing.mix32(sourceHash), mapLength);
    }

    @Override
    public void released(Server server) {
        server.release();
    }

    @Override
    public void serverUp(Server server) {
        rebuild();
    }

    @Override
    public void serverDown(Server server) {
        rebuild();
    }

    @Override
    public void weightChanged(Server server) {
        rebuild();
    }

    @Override
    public void serverAdded(Server server) {
        if (!members.contains(server)) {
            members.add(server);
        }
        rebuild();
    }

    @Override
    public void serverRemoved(Server server) {
        members.remove(server);
        rebuild();
    }

    @Override
    public int usableCount() {
        return map.servers.length;
    }

    /** The current map as servers, for tests. */
    List<Server> mapView() {
        RoundRobinBalancer.Table t = map;
        List<Server> out = new ArrayList<>(t.seq.length);
        for (int i : t.seq) {
            out.add(t.servers[i]);
        }
        return out;
    }

    private void rebuild() {
        map = RoundRobinBalancer.Table.of(members);
    }
}
