package dev.planetary.bench.core.balance;

import dev.planetary.bench.AbstractBenchmark;
import dev.planetary.core.backend.Backend;
import dev.planetary.core.backend.Server;
import dev.planetary.core.balance.Balancer;
import dev.planetary.core.balance.Balancers;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Rebuilding a backend's balancer state after one server joins a set of 10,000 (what a registry event costs the
 * control plane). {@code balancerAdd}: the balancer's own {@code serverAdded}. {@code backendAdd}: the whole
 * {@link Backend#addServer} (new snapshot: server list, name index, balancer). Each invocation starts from 10,000
 * servers: the setup removes the server the previous invocation added (Level.Invocation is fine here: a rebuild at
 * 10,000 servers takes far longer than JMH's per-invocation overhead). {@code backendReplace}: the registry's
 * case, {@link Backend#replaceServers} with the whole list, alternately with and without one extra server (one
 * change per call, as one Genesis view change).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class BalancerRebuildBenchmark extends AbstractBenchmark {

    @Param({"roundrobin", "leastconn", "source-consistent", "source-map-based"})
    public String balancer;

    @Param({"1999", "10000"})
    public int servers;

    private Balancer b;
    private Backend backend;
    private Server extraForBalancer;
    private Server extraForBackend;
    private boolean balancerHasExtra;
    private Backend replaced;
    private List<Server> wantedWith;
    private List<Server> wantedWithout;
    private boolean replacedHasExtra;

    @Setup(Level.Trial)
    public void setup() {
        BenchServers.checkCovers();
        List<Server> list = BenchServers.servers(servers);
        b = Balancers.byName(balancer, list);
        backend = new Backend("bench", BenchServers.algorithm(balancer), BenchServers.hashType(balancer),
                BenchServers.servers(servers));
        extraForBalancer = BenchServers.server("extra", servers);
        extraForBackend = BenchServers.server("extra", servers);
        wantedWithout = BenchServers.servers(servers);
        wantedWith = new java.util.ArrayList<>(wantedWithout);
        wantedWith.add(BenchServers.server("extra", servers));
        replaced = new Backend("bench", BenchServers.algorithm(balancer), BenchServers.hashType(balancer),
                wantedWithout);
    }

    @Setup(Level.Invocation)
    public void reset() {
        if (balancerHasExtra) {
            b.serverRemoved(extraForBalancer);
            balancerHasExtra = false;
        }
        if (backend.server("extra").isPresent()) {
            backend.removeServer("extra");
        }
    }

    @Benchmark
    public Balancer balancerAdd() {
        b.serverAdded(extraForBalancer);
        balancerHasExtra = true;
        return b;
    }

    @Benchmark
    public Backend backendReplace() {
        replaced.replaceServers(replacedHasExtra ? wantedWithout : wantedWith);
        replacedHasExtra = !replacedHasExtra;
        return replaced;
    }

    @Benchmark
    public Backend backendAdd() {
        backend.addServer(extraForBackend);
        return backend;
    }
}
