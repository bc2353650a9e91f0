package dev.planetary.bench.soak;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Which servers the soak killed, and when: a connection that ends early is an expected casualty only if the server it
 * landed on (its announced name) was killed before the end was seen. A server is recorded here BEFORE it is killed, so
 * the order of "recorded" and "connection ended" can never make a real loss look expected.
 */
final class Casualties {

    /**
     * A connection cut before its server announced itself cannot be attributed to a server. It is expected only within
     * this long after a kill or a listener closing: closing a listening socket resets the connections still in its
     * accept queue (the proxy had them connected already), and a dying VM's last accepts end the same way. 5 s covers
     * the proxy's connect, retries and a loaded machine's scheduling; outside that window such a cut is a failure.
     */
    static final long UNATTRIBUTED_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final Map<String, Long> killed = new ConcurrentHashMap<>();
    private volatile long lastEventNanos = Long.MIN_VALUE / 2;

    /** {@code name} is about to die (call before killing it). */
    void killing(String name) {
        long now = System.nanoTime();
        killed.put(name, now);
        lastEventNanos = now;
    }

    /** A listener is about to close (a health-check flap): its accept queue may be reset. */
    void listenerClosing() {
        lastEventNanos = System.nanoTime();
    }

    boolean wasKilled(String name) {
        return name != null && killed.containsKey(name);
    }

    /** A cut before the announcement: expected only shortly after a kill or a listener closing. */
    boolean unattributedExpected() {
        return System.nanoTime() - lastEventNanos < UNATTRIBUTED_WINDOW_NANOS;
    }
}
