package dev.planetary.core.connect;

import dev.planetary.core.config.BackendConfig;

import java.util.concurrent.TimeUnit;

/**
 * A backend's {@code retries}, {@code option redispatch} and retry turnaround, as HAProxy applies them: after a
 * failed connect, up to {@code retries} more attempts; with redispatch each goes to another server if there is one;
 * an attempt that goes to the same server again first waits the turnaround.
 *
 * @param retries         connect re-attempts after the first failure
 * @param redispatch      retry on another server when there is one
 * @param turnaroundNanos wait before a retry to the same server
 */
public record RetryPolicy(int retries, boolean redispatch, long turnaroundNanos) {

    /**
     * HAProxy waits this long (or {@code timeout connect}, if shorter) before retrying the same server, so that a
     * server which is restarting is not hammered.
     */
    public static final long TURNAROUND_MS = 1_000;

    public RetryPolicy {
        if (retries < 0 || turnaroundNanos < 0) {
            throw new IllegalArgumentException("retries and turnaround must be >= 0");
        }
    }

    public static RetryPolicy of(BackendConfig config) {
        long connectMs = config.connectTimeoutMs();
        long turnaroundMs = connectMs > 0 ? Math.min(TURNAROUND_MS, connectMs) : TURNAROUND_MS;
        return new RetryPolicy(config.retries(), config.redispatch(), TimeUnit.MILLISECONDS.toNanos(turnaroundMs));
    }
}
