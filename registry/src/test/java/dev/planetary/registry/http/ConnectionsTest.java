package dev.planetary.registry.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.registry.state.Faults;
import dev.planetary.registry.testing.FakeClock;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The connection counts under concurrent opens and closes from one address: the cap is never passed. */
class ConnectionsTest {

    @Test
    void concurrentOpensAndClosesFromOneAddressNeverPassItsCapAndLeaveNothingBehind() throws Exception {
        int cap = 2;
        Connections c = new Connections(new HttpLimits(Duration.ofSeconds(1), Duration.ofSeconds(1), 1_000, cap,
            1 << 20), new Faults(), new FakeClock());
        InetAddress source = InetAddress.getByName("127.0.0.2");
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        int threads = 4;
        int rounds = 200_000;
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                for (int i = 0; i < rounds; i++) {
                    if (c.tryOpen(source)) {
                        int n = inside.incrementAndGet();
                        most.accumulateAndGet(n, Math::max);
                        inside.decrementAndGet();
                        c.close(source);
                    }
                }
            });
            all.add(th);
            th.start();
        }
        for (Thread th : all) {
            th.join(60_000);
        }
        assertThat(most.get()).as("never more than the cap at once").isLessThanOrEqualTo(cap);
        assertThat(c.open()).isZero();
        assertThat(c.sources()).as("no address left counted").isZero();
        assertThat(c.refused()).isPositive();
    }
}
