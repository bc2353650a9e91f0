package dev.planetary.core.connect;

import dev.planetary.core.backend.Server;

/**
 * What a connect attempt needs from its backend. Every method is called on the connection's event loop and must not
 * block or throw; a server returned by {@link #pick} or {@link #reacquire} has a connection slot taken that the
 * attempt gives back through {@link #release} exactly once.
 */
public interface ServerPool {

    /** A server for a new connection, preferably not {@code avoid}, with its slot taken; null if none is free. */
    Server pick(int sourceHash, Server avoid);

    /**
     * The same server again, with a slot taken, if it is still a member of the backend as it is now, usable and not
     * full; else null (a retry then picks afresh, so a server removed or drained meanwhile gets no retry).
     */
    Server reacquire(Server server);

    /** True when some server could take connections once it has a free slot (so waiting in the queue makes sense). */
    boolean anyUsable();

    /** Gives back a slot taken by {@link #pick} or {@link #reacquire}. */
    void release(Server server);
}
