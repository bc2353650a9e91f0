package dev.planetary.core.connect;

import dev.planetary.core.config.BackendConfig;
import dev.planetary.core.config.FrontendConfig;

import java.util.concurrent.TimeUnit;

/**
 * The inactivity limits of a frontend's connections to its backend, in nanoseconds, 0 for none: {@code timeout
 * client} and {@code server}, and {@code client-fin} / {@code server-fin}, which replace them once that side is
 * half-closed (0: keep the plain one).
 */
public record IdleLimits(long clientNanos, long clientFinNanos, long serverNanos, long serverFinNanos) {

    public static IdleLimits of(FrontendConfig frontend, BackendConfig backend) {
        return new IdleLimits(TimeUnit.MILLISECONDS.toNanos(frontend.clientTimeoutMs()),
            TimeUnit.MILLISECONDS.toNanos(frontend.clientFinTimeoutMs()),
            TimeUnit.MILLISECONDS.toNanos(backend.serverTimeoutMs()),
            TimeUnit.MILLISECONDS.toNanos(backend.serverFinTimeoutMs()));
    }

    long client(boolean halfClosed) {
        return halfClosed && clientFinNanos > 0 ? clientFinNanos : clientNanos;
    }

    long server(boolean halfClosed) {
        return halfClosed && serverFinNanos > 0 ? serverFinNanos : serverNanos;
    }
}
