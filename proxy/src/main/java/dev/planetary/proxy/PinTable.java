package dev.planetary.proxy;

import dev.planetary.core.backend.Server;

import java.net.InetSocketAddress;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * {@code pin-ports}: which server each port of a frontend is pinned to, as one immutable array indexed by
 * {@code port - low}, so that the look-up on accept is one bounds check and one array load. A frontend holds one
 * table and the discovery thread replaces it whole (one volatile write) after each view of the swarm.
 *
 * <p>An entry is null for a port that is balanced as usual (the entrance ports, ports no VM holds), or the
 * {@link PinnedPool} of a backend {@link Server} for a port Genesis assigned to that server's VM, or of
 * {@link #CLOSED} for a port whose VM has no server in this backend or whose VM is gone but Genesis still keeps the
 * port reserved for it (a reservation in its grace period, until Genesis releases it): a connection there is closed
 * at once, never given to another VM.
 */
final class PinTable {

    /**
     * The "no server for this pinned port" marker: never usable (weight 0, maintenance), so a connection pinned to
     * it is refused like one pinned to a server that is down. Its address is never connected to.
     */
    static final Server CLOSED = new Server("(pinned port without a server)",
        InetSocketAddress.createUnresolved("pinned.invalid", 1), 0, 0, false, false, Server.Admin.MAINT);

    /** No port pinned: what every frontend starts with and keeps without {@code pin-ports}. */
    static final PinTable NONE = new PinTable(0, new PinnedPool[0], 0, 0);

    private final int low;
    private final PinnedPool[] byPort;
    private final int pinned;
    private final int closed;

    private PinTable(int low, PinnedPool[] byPort, int pinned, int closed) {
        this.low = low;
        this.byPort = byPort;
        this.pinned = pinned;
        this.closed = closed;
    }

    /** Hot path: the pool of the server {@code localPort} is pinned to, or null when the port is balanced. */
    PinnedPool get(int localPort) {
        int i = localPort - low;
        PinnedPool[] a = byPort;
        return i >= 0 && i < a.length ? a[i] : null;
    }

    /** Ports pinned to a server. */
    int pinnedCount() {
        return pinned;
    }

    /** Ports held closed (VM without a server here, or gone and its ports still reserved by Genesis). */
    int closedCount() {
        return closed;
    }

    /** Builds {@code frontend}'s table over {@code low..high}; set ports with {@link Builder#pin}, {@link Builder#close}. */
    static Builder builder(Frontend frontend, int low, int high) {
        return new Builder(frontend, low, high);
    }

    /** Collects one table; used by a single thread, then {@link #build()} publishes an immutable copy. */
    static final class Builder {
        private final Frontend frontend;
        private final int low;
        private final Server[] byPort;

        private Builder(Frontend frontend, int low, int high) {
            if (high < low) {
                throw new IllegalArgumentException("empty port range " + low + "-" + high);
            }
            this.frontend = frontend;
            this.low = low;
            this.byPort = new Server[high - low + 1];
        }

        boolean covers(int port) {
            return port >= low && port - low < byPort.length;
        }

        /** Pins {@code port} to {@code server}; a port already pinned keeps its first server. */
        void pin(int port, Server server) {
            if (covers(port) && byPort[port - low] == null) {
                byPort[port - low] = server;
            }
        }

        /** Holds {@code port} closed unless something pinned it already. */
        void close(int port) {
            pin(port, CLOSED);
        }

        /** One pool per server (a server holds one port of a kind; closed ports share one). */
        PinTable build() {
            int pinned = 0;
            int closed = 0;
            PinnedPool[] pools = new PinnedPool[byPort.length];
            Map<Server, PinnedPool> made = new IdentityHashMap<>();
            for (int i = 0; i < byPort.length; i++) {
                Server s = byPort[i];
                if (s == null) {
                    continue;
                }
                if (s == CLOSED) {
                    closed++;
                } else {
                    pinned++;
                }
                pools[i] = made.computeIfAbsent(s, k -> new PinnedPool(k, frontend));
            }
            return new PinTable(low, pools, pinned, closed);
        }
    }
}
