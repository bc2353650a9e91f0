package dev.planetary.core.balance;

import dev.planetary.core.backend.Server;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code balance roundrobin}: nginx's smooth weighted round robin (weights 5,1,1 give a a b a c a a).
 *
 * <p>The whole SWRR cycle is precomputed into an immutable table (see {@link SwrrTableBalancer}); a pick is one
 * shared {@code getAndIncrement} and one table read, O(1) whatever the server count. The counter is global to the
 * balancer, so event loops interleave in one sequence. Weights are divided by their gcd and scaled down when they
 * sum above {@link Swrr#MAX_TABLE}.
 */
public final class RoundRobinBalancer extends SwrrTableBalancer {

    private final AtomicLong counter;

    public RoundRobinBalancer(List<Server> servers) {
        this(servers, 0);
    }

    private RoundRobinBalancer(List<Server> servers, long counter) {
        super(servers);
        this.counter = new AtomicLong(counter);
    }

    /** A new table; the cursor goes on from where this one is, so a change does not restart the cycle. */
    @Override
    public Balancer successor(List<Server> servers) {
        return new RoundRobinBalancer(servers, counter.get());
    }

    @Override
    int start(int sourceHash, int length) {
        return (int) Math.floorMod(counter.getAndIncrement(), (long) length);
    }

    /** The current cycle as servers, for tests and diagnostics. */
    List<Server> cycle() {
        return tableView();
    }
}
