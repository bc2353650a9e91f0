package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.BackendConfig;
import dev.planetary.core.config.ConfigParser;
import dev.planetary.core.config.ConfigResult;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The backend queue under concurrent dispatchers: a slot freed while a dispatcher holds a waiter must still reach a
 * waiter (no lost wake-up), and waiters are served oldest first. Deterministic set-ups, repeated so that the
 * interleavings the race needs come up: a trial is a few microseconds.
 */
class BackendQueueRaceTest {

    private static final long TRIAL_WAIT_S = 10;

    private TestBackends backends;

    @AfterEach
    void tearDown() {
        if (backends != null) {
            backends.close();
        }
    }

    /** One server with maxconn 1, not connected to: only the queue and the slot bookkeeping are exercised. */
    private ProxyBackend backend() {
        return backend("""
            backend be
                timeout queue 5s
                server s1 127.0.0.1:9 maxconn 1
            """);
    }

    private ProxyBackend backend(String config) {
        backends = new TestBackends();
        ConfigResult r = ConfigParser.parse("queue.cfg", config);
        assertThat(r.errors()).isEmpty();
        BackendConfig bc = r.config().backends().get(0);
        return backends.create(bc);
    }

    /** A waiter as a queued Session behaves: any thread may serve it once; an optional hook runs at its first check. */
    static final class Waiter implements QueueWaiter {
        final AtomicInteger state = new AtomicInteger(); // 0 waiting, 1 served, 2 gone
        final AtomicReference<Runnable> onFirstCheck = new AtomicReference<>();
        volatile Server server;

        @Override
        public boolean waiting() {
            Runnable hook = onFirstCheck.getAndSet(null);
            if (hook != null) {
                hook.run();
            }
            return state.get() == 0;
        }

        @Override
        public int sourceHash() {
            return 0;
        }

        @Override
        public boolean dequeued(Server s) {
            if (state.compareAndSet(0, 1)) {
                server = s;
                return true;
            }
            return false;
        }
    }

    /**
     * A dispatcher takes the waiter out, its pick fails (every slot is held), and a slot is released while the waiter
     * is out of the queue: the release must not be lost. The set-up makes the window wide and its position known:
     * {@code balance source} (map-based) with 10,000 full servers of equal weight sends source hash 0 to s0, tries
     * s1..s8, then scans every server from s9 on (tens of microseconds); the releaser frees s9 as soon as the waiter
     * is checked, i.e. while that scan runs past s9. A release during the scan must still reach the waiter.
     */
    @Test
    void aSlotReleasedWhileADispatcherHoldsTheWaiterIsNotLost() throws Exception {
        int servers = 10_000;
        StringBuilder cfg = new StringBuilder("backend be\n    balance source\n    timeout queue 5s\n");
        for (int i = 0; i < servers; i++) {
            cfg.append("    server s").append(i).append(" 127.0.0.1:9 maxconn 1\n");
        }
        ProxyBackend pb = backend(cfg.toString());
        Server first = pb.servers().get(9); // the first server the scan visits
        for (int i = 0; i < servers; i++) {
            assertThat(pb.pick(i, null)).isNotNull();
        }
        assertThat(pb.pick(0, null)).as("all full").isNull();
        int trials = 3_000;
        CyclicBarrier go = new CyclicBarrier(2);
        AtomicInteger releaseNow = new AtomicInteger();
        Thread releaser = new Thread(() -> {
            try {
                for (int t = 0; t < trials; t++) {
                    go.await(TRIAL_WAIT_S, TimeUnit.SECONDS);
                    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(TRIAL_WAIT_S);
                    while (releaseNow.getAndSet(0) == 0 && System.nanoTime() - end < 0) {
                        Thread.onSpinWait();
                    }
                    pb.release(first);
                    go.await(TRIAL_WAIT_S, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "releaser");
        releaser.setDaemon(true);
        releaser.start();
        int lost = 0;
        for (int t = 0; t < trials; t++) {
            Waiter w = new Waiter();
            pb.enqueue(w); // every server is full: it waits
            assertThat(w.state.get()).isZero();
            w.onFirstCheck.set(() -> releaseNow.set(1));
            go.await(TRIAL_WAIT_S, TimeUnit.SECONDS);
            pb.dispatchQueue(); // what a state change or another release runs
            go.await(TRIAL_WAIT_S, TimeUnit.SECONDS);
            if (w.state.get() == 0) {
                // nobody releases or dispatches any more: it would wait for timeout queue with a free slot
                lost++;
                w.state.set(2);
                pb.dispatchQueue(); // drops it
                assertThat(pb.pick(0, null)).isSameAs(first); // the only free one
            } else {
                assertThat(w.server).isSameAs(first);
            }
            assertThat(pb.queueLength()).isZero();
        }
        releaser.join(TimeUnit.SECONDS.toMillis(TRIAL_WAIT_S));
        assertThat(lost).as("waiters left waiting with a free slot, in %d trials", trials).isZero();
    }

    /**
     * Two dispatchers at once must not put two waiters back in reverse order. The hooks force the interleaving that
     * reverses them when both dispatchers run at once: the first waiter is put back while the second is still out.
     */
    @Test
    void concurrentDispatchersKeepWaitersInArrivalOrder() throws Exception {
        ProxyBackend pb = backend();
        int trials = 300;
        CyclicBarrier go = new CyclicBarrier(2);
        Thread other = new Thread(() -> {
            try {
                for (int t = 0; t < trials; t++) {
                    go.await(TRIAL_WAIT_S, TimeUnit.SECONDS);
                    pb.dispatchQueue();
                    go.await(TRIAL_WAIT_S, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "dispatcher");
        other.setDaemon(true);
        other.start();
        int reversed = 0;
        for (int t = 0; t < trials; t++) {
            Server held = pb.pick(0, null);
            Waiter first = new Waiter();
            Waiter second = new Waiter();
            pb.enqueue(first);
            pb.enqueue(second);
            AtomicInteger secondOut = new AtomicInteger();
            first.onFirstCheck.set(() -> spinUntil(() -> secondOut.get() == 1));
            second.onFirstCheck.set(() -> {
                secondOut.set(1);
                spinUntil(() -> pb.queueLength() == 1);
            });
            go.await(TRIAL_WAIT_S, TimeUnit.SECONDS);
            pb.dispatchQueue(); // this one or the other takes the first waiter; both find the server full
            go.await(TRIAL_WAIT_S, TimeUnit.SECONDS);
            pb.release(held); // the oldest waiter must get the slot
            if (second.state.get() == 1) {
                reversed++;
            }
            Waiter served = first.state.get() == 1 ? first : second;
            assertThat(served.state.get()).isEqualTo(1);
            Waiter left = served == first ? second : first;
            left.state.set(2);
            pb.release(served.server);
            pb.dispatchQueue();
            assertThat(pb.queueLength()).isZero();
        }
        other.join(TimeUnit.SECONDS.toMillis(TRIAL_WAIT_S));
        assertThat(reversed).as("trials in which the second waiter was served first, of %d", trials).isZero();
    }

    /** Spins until the condition holds or 2 ms have passed (the interleaving it waits for may never come). */
    private static void spinUntil(java.util.function.BooleanSupplier condition) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2);
        while (!condition.getAsBoolean() && System.nanoTime() - end < 0) {
            Thread.onSpinWait();
        }
    }
}
