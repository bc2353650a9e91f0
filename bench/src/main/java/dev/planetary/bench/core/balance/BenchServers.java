package dev.planetary.bench.core.balance;

import dev.planetary.core.backend.Server;
import dev.planetary.core.balance.Balancers;
import dev.planetary.core.config.BalanceAlgorithm;
import dev.planetary.core.config.HashType;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Servers for the balancer benchmarks, and the check that the {@code @Param} lists cover every balancer. */
final class BenchServers {

    /** What {@code @Param} lists (annotation values must be constants); {@link #checkCovers} compares it. */
    static final String[] NAMES = {"roundrobin", "leastconn", "source-consistent", "source-map-based"};

    private BenchServers() {
    }

    static List<Server> servers(int count) {
        List<Server> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(server("s" + i, i));
        }
        return out;
    }

    static Server server(String name, int i) {
        // distinct addresses, as a real swarm; weights 1..4 so weighted paths are exercised
        InetSocketAddress a = InetSocketAddress.createUnresolved("10." + (i >> 16 & 255) + "." + (i >> 8 & 255)
                + "." + (i & 255), 7000);
        return new Server(name, a, 1 + (i & 3), 0, false, true, Server.Admin.READY);
    }

    /** Fails the run when a balancer was added to {@link Balancers#NAMES} but not to the benchmarks. */
    static void checkCovers() {
        Set<String> ours = new HashSet<>(List.of(NAMES));
        if (!ours.equals(new HashSet<>(Balancers.NAMES))) {
            throw new IllegalStateException("benchmark @Param " + ours + " differs from Balancers.NAMES "
                    + Balancers.NAMES);
        }
    }

    static BalanceAlgorithm algorithm(String name) {
        return name.startsWith("source") ? BalanceAlgorithm.SOURCE
                : name.equals("leastconn") ? BalanceAlgorithm.LEASTCONN : BalanceAlgorithm.ROUNDROBIN;
    }

    static HashType hashType(String name) {
        return name.equals("source-consistent") ? HashType.CONSISTENT : HashType.MAP_BASED;
    }
}
