package dev.planetary.core.connect;

import dev.planetary.core.config.BackendConfig;
import dev.planetary.core.config.FrontendConfig;

import java.util.concurrent.TimeUnit;

/**
 * The inactivity limits of a frontend's connections to its backend, in nanoseconds, 0 for none: {@code timeout
 * client} and {@code server}; {@code timeout tunnel}, which replaces both (HAProxy: "supersedes both the client and
 * server timeouts once the connection becomes a tunnel", which in TCP mode is as soon as the server connection is
 * established, i.e. for every connection these limits govern); and {@code client-fin} / {@code server-fin}, which
 * replace whichever applies once that side is half-closed (0: keep it), as HAProxy does in a tunnel.
 */
public record IdleLimits(long clientNanos, long clientFinNanos, long serverNanos, long serverFinNanos,
                         long tunnelNanos) {

    /** Limits without {@code timeout tunnel}. */
    public IdleLimits(long clientNanos, long clientFinNanos, long serverNanos, long serverFinNanos) {
        this(clientNanos, clientFinNanos, serverNanos, serverFinNanos, 0);
    }

    public static IdleLimits of(FrontendConfig frontend, BackendConfig backend) {
        return new IdleLimits(TimeUnit.MILLISECONDS.toNanos(frontend.clientTimeoutMs()),
            TimeUnit.MILLISECONDS.toNanos(frontend.clientFinTimeoutMs()),
            TimeUnit.MILLISECONDS.toNanos(backend.serverTimeoutMs()),
            TimeUnit.MILLISECONDS.toNanos(backend.serverFinTimeoutMs()),
            TimeUnit.MILLISECONDS.toNanos(backend.tunnelTimeoutMs()));
    }

    long client(boolean halfClosed) {
        if (halfClosed && clientFinNanos > 0) {
            return clientFinNanos;
        }
        return tunnelNanos > 0 ? tunnelNanos : clientNanos;
    }

    long server(boolean halfClosed) {
        if (halfClosed && serverFinNanos > 0) {
            return serverFinNanos;
        }
        return tunnelNanos > 0 ? tunnelNanos : serverNanos;
    }
}
