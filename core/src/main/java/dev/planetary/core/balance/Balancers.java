package dev.planetary.core.balance;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.BalanceAlgorithm;
import dev.planetary.core.config.HashType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * The one place that maps a configured algorithm to its {@link Balancer}. Backup servers are not handled by any
 * balancer: the caller keeps a second balancer over the backup servers.
 */
public final class Balancers {

    /** Names accepted by {@link #byName}, e.g. for a benchmark's {@code @Param}. */
    public static final List<String> NAMES = List.of("roundrobin", "leastconn", "source-consistent",
            "source-map-based");

    private Balancers() {
    }

    /**
     * @param hashType only used for {@link BalanceAlgorithm#SOURCE}
     * @param servers  the servers, in configuration order (round robin breaks ties in this order; the hashing
     *                 balancers do not depend on it)
     */
    public static Balancer create(BalanceAlgorithm algo, HashType hashType, List<Server> servers) {
        Objects.requireNonNull(algo, "algo");
        Objects.requireNonNull(servers, "servers");
        switch (algo) {
            case ROUNDROBIN:
                return new RoundRobinBalancer(servers);
            case LEASTCONN:
                return new LeastConnBalancer(servers);
            case SOURCE:
                return Objects.requireNonNull(hashType, "hashType") == HashType.CONSISTENT
                        ? new SourceHashBalancer(servers)
                        : new MapBasedSourceBalancer(servers);
            default:
                throw new IllegalArgumentException("unsupported balance algorithm " + algo);
        }
    }

    /**
     * @param name one of {@link #NAMES} ({@code "source"} alone means map-based, HAProxy's default hash-type)
     */
    public static Balancer byName(String name, List<Server> servers) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "roundrobin":
                return create(BalanceAlgorithm.ROUNDROBIN, null, servers);
            case "leastconn":
                return create(BalanceAlgorithm.LEASTCONN, null, servers);
            case "source-consistent":
                return create(BalanceAlgorithm.SOURCE, HashType.CONSISTENT, servers);
            case "source":
            case "source-map-based":
                return create(BalanceAlgorithm.SOURCE, HashType.MAP_BASED, servers);
            default:
                throw new IllegalArgumentException("unknown balancer '" + name + "', expected one of " + NAMES);
        }
    }

    /**
     * The slow path shared by the table balancers: the first server from {@code start} on (wrapping) that is not
     * {@code avoid}, is usable and has a free slot, which it claims; null if none. O(n).
     */
    static Server claimFirst(Server[] servers, int start, Server avoid) {
        int n = servers.length;
        int k = start;
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

    /** The servers without repeats (by identity), first occurrence kept, in O(n). */
    static List<Server> distinct(List<Server> servers) {
        Set<Server> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Server> out = new ArrayList<>(servers.size());
        for (Server s : servers) {
            if (seen.add(Objects.requireNonNull(s, "server"))) {
                out.add(s);
            }
        }
        return out;
    }
}
