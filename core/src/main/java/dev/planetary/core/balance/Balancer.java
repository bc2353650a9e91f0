package dev.planetary.core.balance;

import dev.planetary.core.backend.Server;

/**
 * One balancing algorithm over one set of servers (HAProxy's {@code lb_ops}).
 *
 * <p>Threading: {@link #pick} and {@link #released} are called concurrently from every event loop and must be
 * lock-free, allocation-free and never throw. The control callbacks ({@link #serverUp}, {@link #serverDown},
 * {@link #weightChanged}, {@link #serverAdded}, {@link #serverRemoved}) are called by one control thread at a time
 * (the caller serialises them); they may rebuild internal tables and publish them whole.
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

    /** A connection that {@link #pick} gave to {@code server} has ended; its slot is released here. */
    void released(Server server);

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
