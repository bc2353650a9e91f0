package dev.planetary.proxy;

import dev.planetary.core.backend.Server;

/**
 * A connection waiting in a backend's queue for a free server slot ({@link ProxyBackend#enqueue}). Every method
 * may be called from any thread.
 */
interface QueueWaiter {

    /** Still waiting (not timed out, not gone, not served yet)? */
    boolean waiting();

    /** The client's source hash, for the balancer's pick. */
    int sourceHash();

    /**
     * Hands this waiter a server whose slot is already taken.
     *
     * @return false if it stopped waiting meanwhile: the caller then releases the slot
     */
    boolean dequeued(Server server);
}
