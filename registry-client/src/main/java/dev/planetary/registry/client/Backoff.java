package dev.planetary.registry.client;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Capped exponential backoff with jitter: attempt n (1-based) waits {@code min(max, initial * 2^(n-1))}, less a random
 * share of up to {@code jitter} of it, so that a fleet of clients cut off at the same moment (a Genesis restart) does
 * not come back in one wave. Attempt 0 (the first reconnect after a healthy stream) waits nothing.
 */
public final class Backoff {

    private final long initialNanos;
    private final long maxNanos;
    private final double jitter;

    public Backoff(Duration initial, Duration max, double jitter) {
        if (initial.isNegative() || initial.isZero()) {
            throw new IllegalArgumentException("initial backoff must be positive");
        }
        if (max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("max backoff (" + max.toMillis() + " ms) must not be below the initial "
                + "backoff (" + initial.toMillis() + " ms)");
        }
        if (!(jitter >= 0 && jitter <= 1)) {
            throw new IllegalArgumentException("jitter must be within 0..1, not " + jitter);
        }
        this.initialNanos = initial.toNanos();
        this.maxNanos = max.toNanos();
        this.jitter = jitter;
    }

    /** The delay before attempt {@code attempt}; {@code random} gives values in [0, 1). */
    public long delayNanos(int attempt, DoubleSupplier random) {
        if (attempt <= 0) {
            return 0;
        }
        long base = initialNanos;
        for (int i = 1; i < attempt && base < maxNanos; i++) {
            base = base > maxNanos / 2 ? maxNanos : base * 2;
        }
        base = Math.min(base, maxNanos);
        return base - (long) (base * jitter * random.getAsDouble());
    }
}
