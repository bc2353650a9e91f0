package dev.planetary.core.balance;

import static dev.planetary.core.balance.TestServers.server;
import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.backend.Backend;
import dev.planetary.core.backend.Server;
import dev.planetary.core.config.BalanceAlgorithm;
import dev.planetary.core.config.HashType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Membership changes racing picks and releases on a leastconn backend: a connection taken and released while a
 * server is being added must be counted by the balancer that ends up in force, or that server keeps a stale load
 * for good (and, being "loaded", is then hardly ever picked again).
 */
class BackendMembershipRaceTest {

    private static final int SERVERS = 2_000;
    private static final int TRIALS = 30;

    @Test
    void releasesDuringAnAddLeaveNoStaleLeastConnKey() throws Exception {
        AtomicReference<Backend> current = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger inFlight = new AtomicInteger();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            Thread t = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        inFlight.incrementAndGet(); // before reading current: see the wait below
                        try {
                            Backend be = current.get();
                            if (be == null) {
                                Thread.onSpinWait();
                                continue;
                            }
                            Server s = be.pick(0, null);
                            if (s != null) {
                                be.release(s);
                            }
                        } finally {
                            inFlight.decrementAndGet();
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }, "worker-" + w);
            t.setDaemon(true);
            t.start();
            workers.add(t);
        }
        int stale = 0;
        try {
            for (int trial = 0; trial < TRIALS; trial++) {
                List<Server> servers = TestServers.servers(SERVERS, 1);
                Backend be = new Backend("be", BalanceAlgorithm.LEASTCONN, HashType.MAP_BASED, servers);
                for (int i = 0; i < SERVERS; i++) {
                    assertThat(be.pick(0, null)).isNotNull(); // every server has one connection, held here
                }
                current.set(be); // workers now pick and release the least loaded server in a loop
                Server added = server("added", 1);
                be.addServer(added); // the unique least loaded server from the moment a balancer has it
                long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2);
                while (System.nanoTime() - end < 0) {
                    Thread.onSpinWait(); // let the workers use it from the new snapshot too
                }
                current.set(null);
                long quiet = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (inFlight.get() != 0 && System.nanoTime() - quiet < 0) {
                    Thread.onSpinWait(); // a worker that saw this backend finishes its pick and release
                }
                for (Server s : servers) {
                    be.release(s);
                }
                LeastConnBalancer lc = (LeastConnBalancer) be.snapshot().active();
                if (!lc.consistent()) {
                    stale++;
                }
                assertThat(be.servers()).allMatch(s -> s.active() == 0);
            }
        } finally {
            stop.set(true);
            for (Thread t : workers) {
                t.join(TimeUnit.SECONDS.toMillis(10));
            }
        }
        assertThat(errors).isEmpty();
        assertThat(stale).as("trials that left a key not matching its server's live count, of %d", TRIALS).isZero();
    }
}
