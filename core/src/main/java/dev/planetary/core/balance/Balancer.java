package dev.planetary.core.balance;

import dev.planetary.core.backend.Server;
import java.util.List;

/**
 * One balancing algorithm over one set of servers (HAProxy's {@code lb_ops}).
 *
 * <p>Threading: {@link #pick}, {@link #claim}, {@link #released} and {@link #refresh} are called concurrently from
 * every event loop and must be allocation-free, never throw, and never wait for more than a short critical section
 * (leastconn keeps its heap under a short lock, as HAProxy does). The control callbacks ({@link #serverUp},
 * {@link #serverDown}, {@link #weightChanged}, {@link #serverAdded}, {@link #serverRemoved}) and {@link #successor}
 * are called by one control thread at a time (the caller serialises them), never on an event loop.
 *
 * <p>A {@link dev.planetary.core.backend.Backend} does not change a balancer that readers can see: for every change
 * it builds the next snapshot's balancer with {@link #successor} and publishes both at once. The callbacks serve
 * direct use (tests, benchmarks) and say what each algorithm reacts to.
 */
public interface Balancer {

    /**
     * Chooses a server for a new connection and claims a slot on it ({@link Server#tryAcquire()}).
     *
     * @param sourceHash hash of the client's IP address only (never its port); used by hashing algorithms
     * @param avoid      a server not to choose (the one a retry just failed on), or null
     * @return the chosen server with one slot already taken, or null if no usable, non-full server other than
     *     {@code avoid} exists
     */
    Server pick(int sourceHash, Server avoid);

    /**
     * Claims a slot on this particular server (a retry to the same server), keeping the balancer's bookkeeping
     * right: true if it is usable and not full. Same threading and rules as {@link #pick}.
     */
    default boolean claim(Server server) {
        return server.usable() && server.tryAcquire();
    }

    /** A connection that {@link #pick} gave to {@code server} has ended: its slot is released, then re-read. */
    default void released(Server server) {
        server.release();
        refresh(server);
    }

    /**
     * The server's connection count changed outside this balancer (a connection taken through an earlier snapshot's
     * balancer was released): re-read it. Same threading as {@link #pick}; a no-op where nothing depends on counts.
     */
    default void refresh(Server server) {
    }

    /**
     * The balancer for the next snapshot over {@code servers} (in configuration order), reading their current
     * weights and states; built by the control thread, off the event loops. It may take over this balancer's
     * build state (the consistent-hash tables) to work incrementally: afterwards this instance still serves the
     * picks of the snapshot that holds it, but gets no further control calls.
     */
    Balancer successor(List<Server> servers);

    /** The server passed its health checks again, or left maintenance. */
    void serverUp(Server server);

    /** The server failed its health checks, was drained or put in maintenance: no new connections. */
    void serverDown(Server server);

    /** {@link Server#weight()} changed. */
    void weightChanged(Server server);

    /** A server joined the set. */
    void serverAdded(Server server);

    /** A server left the set; connections it still has release through {@link #released} as usual. */
    void serverRemoved(Server server);

    /** Number of servers in the set that are usable now (up, ready, weight above zero). */
    int usableCount();
}
