package dev.planetary.proxy.stats;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A maximum that cannot be kept per thread (a backend's sessions, a whole second's rate): sampled once a second by
 * {@link ProxyStats#sample} and at every read, so it may miss a peak shorter than a second between samples.
 */
final class MaxSampler {

    private final AtomicLong max = new AtomicLong();

    long offer(long value) {
        return max.accumulateAndGet(value, Math::max);
    }

    long get() {
        return max.get();
    }
}
