package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A maxconn slot freed while a new connection parks must not be lost: {@link ConnectionLimit#release()} polls the
 * parked queue, finds it empty, and only then gives the slot back; a {@link ConnectionLimit#park} that adds itself
 * between the two and tries its {@code tryAcquire} before the decrement fails it, and nothing looks at the queue
 * again. The connection then waits with a free slot, and since {@code hasRoom()} is false while anything is parked,
 * the listeners stay paused: with no other connection left to release a slot, the frontend never accepts again.
 * Deterministic: the releasing thread is held between its (empty) poll and its decrement.
 */
class ConnectionLimitRaceTest {

    private Proxy proxy;

    @AfterEach
    void tearDown() {
        // The channel is left as it is: its pending task (the woken connection's admission) would connect for real
        // from an EmbeddedEventLoop; it holds no buffer.
        if (proxy != null) {
            proxy.close();
        }
    }

    /** Parks its poll() on the releasing thread when the queue is empty, until the test lets it go on. */
    static final class GatedQueue extends ConcurrentLinkedQueue<Session> {
        volatile Thread gated;
        final CountDownLatch pollFoundEmpty = new CountDownLatch(1);
        final CountDownLatch proceed = new CountDownLatch(1);

        @Override
        public Session poll() {
            Session s = super.poll();
            if (s == null && Thread.currentThread() == gated) {
                gated = null;
                pollFoundEmpty.countDown();
                try {
                    proceed.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return s;
        }
    }

    @Test
    void aSlotReleasedWhileAConnectionParksReachesIt() throws Exception {
        int port = Ports.pcpu();
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 2s
            listen fe
                bind 127.0.0.1:%d
                maxconn 1
                server s1 127.0.0.1:9
            """.formatted(port));
        Frontend fe = proxy.frontend("fe");
        ConnectionLimit limit = new ConnectionLimit("frontend fe", 1, new AtomicInteger(), () -> { });
        GatedQueue parked = new GatedQueue();
        Field f = ConnectionLimit.class.getDeclaredField("parked");
        f.setAccessible(true);
        f.set(limit, parked);

        assertThat(limit.tryAcquire()).as("the one slot, held by a live connection").isTrue();
        Thread releaser = new Thread(limit::release, "releaser");
        parked.gated = releaser;
        releaser.start();
        assertThat(parked.pollFoundEmpty.await(10, TimeUnit.SECONDS)).isTrue();

        // Meanwhile a new connection finds the limit full (count is still 1) and parks.
        EmbeddedChannel channel = new EmbeddedChannel();
        Session newcomer = new Session(proxy, fe, channel);
        assertThat(limit.tryAcquire()).isFalse();
        assertThat(limit.park(newcomer)).isTrue();

        parked.proceed.countDown();
        releaser.join(10_000);

        // Either the newcomer got the slot (the count stays 1 and nothing is parked) or the limit has room again.
        assertThat(limit.hasRoom() || (limit.count() == 1 && parked.isEmpty()))
            .as("count %d, parked %d: a free slot and a parked connection that nobody will wake", limit.count(),
                parked.size())
            .isTrue();
    }
}
