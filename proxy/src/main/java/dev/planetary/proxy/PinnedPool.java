package dev.planetary.proxy;

import dev.planetary.core.backend.Server;
import dev.planetary.proxy.stats.Counters;
import dev.planetary.core.connect.ServerPool;

/**
 * The server pool of a connection to a pinned port ({@code pin-ports}): its VM's server and nothing else. Every
 * pick, retry and redispatch claims that one server through the backend (only while it is a member of the backend's
 * current snapshot, usable and not full, with the balancer's bookkeeping); otherwise the connection is refused at
 * once and counted: it never waits in the backend's queue, whose dispatch would hand it any server.
 *
 * <p>Immutable; one per pinned port, built by {@link Discovery} with each {@link PinTable}, so that accepting a
 * connection allocates nothing for it.
 */
final class PinnedPool implements ServerPool {

    private final Server server;
    private final Frontend frontend;

    PinnedPool(Server server, Frontend frontend) {
        this.server = server;
        this.frontend = frontend;
    }

    /** The server this port is pinned to ({@link PinTable#CLOSED} for a port held closed). */
    Server server() {
        return server;
    }

    @Override
    public Server pick(int sourceHash, Server avoid) {
        return claim();
    }

    @Override
    public Server reacquire(Server failed) {
        return claim();
    }

    /** False: a pinned connection whose server cannot take it now is refused, never queued. */
    @Override
    public boolean anyUsable() {
        return false;
    }

    @Override
    public void release(Server s) {
        frontend.backend().release(s);
    }

    private Server claim() {
        Server s = server == PinTable.CLOSED ? null : frontend.backend().reacquire(server);
        if (s == null) {
            Counters.increment(frontend.stats().counters().slot(), Counters.EREQ); // event loop
        }
        return s;
    }
}
