package dev.planetary.proxy.stats;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A maximum that cannot be kept per thread (a backend's sessions, a whole second's rate): sampled once a second by
 * {@link ProxyStats#sample} and at every read, so it may miss a peak shorter than a second between samples.
 * A field through a VarHandle, not an AtomicLong: every server has one, and a relist makes thousands at once.
 */
final class MaxSampler {

    private static final VarHandle MAX;

    static {
        try {
            MAX = MethodHandles.lookup().findVarHandle(MaxSampler.class, "max", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // through MAX
    private volatile long max;

    long offer(long value) {
        for (;;) {
            long cur = max;
            if (value <= cur) {
                return cur;
            }
            if (MAX.compareAndSet(this, cur, value)) {
                return value;
            }
        }
    }

    long get() {
        return max;
    }
}
