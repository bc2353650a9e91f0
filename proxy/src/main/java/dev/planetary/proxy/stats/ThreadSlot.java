package dev.planetary.proxy.stats;

import io.netty.util.concurrent.FastThreadLocal;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small number per thread that writes counters: each event loop (and the few other threads that count: the
 * control agent, the health checker) gets its own index once, and from then on writes only the counter slots at
 * that index. A {@link FastThreadLocal} is one array read on Netty's threads.
 */
final class ThreadSlot {

    private static final AtomicInteger NEXT = new AtomicInteger();
    private static final FastThreadLocal<int[]> INDEX = new FastThreadLocal<>() {
        @Override
        protected int[] initialValue() {
            return new int[] {NEXT.getAndIncrement()};
        }
    };

    private ThreadSlot() {
    }

    /** How many indices have been handed out: every index so far is below it. */
    static int count() {
        return NEXT.get();
    }

    /** This thread's index, stable for its life. */
    static int index() {
        return INDEX.get()[0];
    }
}
