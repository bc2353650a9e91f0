package dev.planetary.registry.http;

import java.time.Duration;

/**
 * How long and how many: the HTTP server's timeouts and connection caps. Every default is a constant with its reason;
 * tests start Genesis with short timeouts and small caps so that an attack is played out in a second.
 *
 * @param requestTimeout a request's headers and body must all have arrived this long after its first byte (the first
 *     request of a connection: after the connect), or the connection is closed
 * @param idleTimeout a keep-alive connection with no request in progress is closed after this long (watch streams
 *     are exempt: they are held open on purpose)
 * @param maxConnections open connections at most, all listeners together; more are answered 503 and closed
 * @param maxConnectionsPerSource open connections at most from one source address; more are answered 503 and closed
 * @param watchMaxQueuedBytes bytes of events queued for one watch stream that does not read fast enough before it
 *     is cut off (it reconnects with {@code since=})
 */
public record HttpLimits(Duration requestTimeout, Duration idleTimeout, int maxConnections,
                         int maxConnectionsPerSource, int watchMaxQueuedBytes) {

    /**
     * 10 s for a whole request: a VM's register, heartbeat or leave is under 64 KiB and sent at once, so it takes
     * milliseconds even on a poor network; a drip-fed request (slow loris) holds a descriptor for 10 s at most.
     */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);
    /**
     * 60 s between requests: longer than any client's heartbeat interval (5 s by default), so a client that reuses
     * its connection keeps it, while an abandoned one is closed well before idle connections can add up.
     */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
    /**
     * 8,192 connections: the 1,999 VMs of a full port plan each open one connection per request (two at most while
     * a heartbeat and a re-registration overlap: 3,998), plus proxies' and dashboards' watch streams, with room to
     * spare for reconnect storms; far below the 20,000 descriptors a process gets here, so Genesis still has
     * descriptors for its log, snapshot and a few more connections when the cap is reached.
     */
    public static final int DEFAULT_MAX_CONNECTIONS = 8_192;
    /**
     * 256 from one address: a VM needs one or two; a proxy host a few watch streams; a NAT gateway or a host running a
     * local swarm of agents more. One address can then take at most 1/32 of the total: an attacker needs many
     * addresses to lock VMs out. Raise it for a NAT set-up with more VMs behind one address.
     */
    public static final int DEFAULT_MAX_CONNECTIONS_PER_SOURCE = 256;
    /**
     * 8 MiB of unsent events per watch stream: a snapshot of a full swarm (about 1 MB) plus several rounds of its
     * churn; a watcher that stopped reading is cut off then, instead of growing Genesis' heap without bound.
     */
    public static final int DEFAULT_WATCH_MAX_QUEUED_BYTES = 8 << 20;

    public HttpLimits {
        if (requestTimeout.isNegative() || requestTimeout.isZero()) {
            throw new IllegalArgumentException("request timeout must be positive");
        }
        if (idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("idle timeout must be positive");
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("max connections must be at least 1, not " + maxConnections);
        }
        if (maxConnectionsPerSource < 1) {
            throw new IllegalArgumentException("max connections per source must be at least 1, not "
                + maxConnectionsPerSource);
        }
        if (watchMaxQueuedBytes < 1) {
            throw new IllegalArgumentException("watch queue bound must be positive");
        }
    }

    public static HttpLimits defaults() {
        return new HttpLimits(DEFAULT_REQUEST_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
            DEFAULT_MAX_CONNECTIONS_PER_SOURCE, DEFAULT_WATCH_MAX_QUEUED_BYTES);
    }
}
