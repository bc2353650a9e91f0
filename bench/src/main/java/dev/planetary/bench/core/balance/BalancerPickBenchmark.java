package dev.planetary.bench.core.balance;

import dev.planetary.bench.AbstractBenchmark;
import dev.planetary.core.backend.Server;
import dev.planetary.core.balance.Balancer;
import dev.planetary.core.balance.Balancers;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * {@code pick()} and its {@code released()} for every balancer, as an event loop calls them for one connection.
 * Goals: under 50 ns at 10,000 servers, and 0 B/op with {@code -prof gc}.
 *
 * <p>{@code single}: one thread. {@code contended}: two threads on the same balancer (this machine's core count),
 * the case where the lock-free structures (leastconn's tree, round robin's cursor) see CAS failures.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
public class BalancerPickBenchmark extends AbstractBenchmark {

    @Param({"roundrobin", "leastconn", "source-consistent", "source-map-based"})
    public String balancer;

    @Param({"10", "1000", "10000"})
    public int servers;

    /**
     * One-server additions applied as successive batches after the build: with {@code source-consistent} at 10,000
     * servers each publishes a few copied pages over the flat table, so a pick reads some buckets from pages (0: flat
     * only; with fewer servers an addition changes over a quarter of the pages and publishes flat).
     */
    @Param({"0", "64"})
    public int additions;

    private Balancer b;

    @Setup
    public void setup() {
        BenchServers.checkCovers();
        List<Server> all = BenchServers.servers(servers + additions);
        b = Balancers.byName(balancer, all.subList(0, servers));
        for (int n = servers + 1; n <= all.size(); n++) {
            b = b.successor(all.subList(0, n));
        }
    }

    /** Per-thread client address source: a different IPv4 "client" every pick, without allocation. */
    @State(Scope.Thread)
    public static class Clients {
        int next = 0x0a000001;

        int nextHash() {
            int x = next;
            next = x + 0x9e3779b9; // walk the address space; Inet4Address.hashCode() is the address itself
            return x;
        }
    }

    @Benchmark
    public Server single(Clients c) {
        return pickRelease(c);
    }

    @Benchmark
    @Group("contended")
    @GroupThreads(2)
    public Server contended(Clients c) {
        return pickRelease(c);
    }

    private Server pickRelease(Clients c) {
        Server s = b.pick(c.nextHash(), null);
        if (s != null) {
            b.released(s);
        }
        return s;
    }
}
