package dev.planetary.core.backend;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One change to a backend, as a message to its owner: the owner applies a batch of them and publishes one snapshot
 * ({@link Backend#apply}). Immutable.
 */
public sealed interface BackendChange {

    /** Adds a server; a server of the same name already in the backend is an error. */
    record Add(Server server) implements BackendChange {
        public Add {
            Objects.requireNonNull(server, "server");
        }
    }

    /** Removes a server: no new connections; its live ones finish on their own. */
    record Remove(String name) implements BackendChange {
        public Remove {
            Objects.requireNonNull(name, "name");
        }
    }

    /** Sets a server's weight (0..256). */
    record Weight(String name, int weight) implements BackendChange {
        public Weight {
            Objects.requireNonNull(name, "name");
        }
    }

    /** Sets a server's admin state: the operator's only, never the registry's drain ({@link Replace}). */
    record Admin(String name, Server.Admin admin) implements BackendChange {
        public Admin {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(admin, "admin");
        }
    }

    /** A health transition decided by the health checker; ignored (but recorded) for a server no longer ours. */
    record Health(Server server, boolean up) implements BackendChange {
        public Health {
            Objects.requireNonNull(server, "server");
        }
    }

    /**
     * Replaces the whole server list. Servers of {@code wanted} whose name, address, backup flag and maxconn match a
     * current server keep that object (its live count, health, admin state and registry drain) and take the new
     * weight.
     *
     * @param drain null to leave the registry's drain flags alone; otherwise exactly the names the registry drains:
     *              their {@link Server#discoveryDrain()} is set and every other server's is cleared. The operator's
     *              admin state (ready/drain/maint) is never changed here, so ending the registry's drain does not
     *              end an operator's drain or maintenance, and vice versa.
     */
    record Replace(List<Server> wanted, Set<String> drain) implements BackendChange {
        public Replace {
            wanted = List.copyOf(wanted);
            drain = drain == null ? null : Set.copyOf(drain);
        }
    }

    /**
     * As {@link Replace}, but the wanted servers are described rather than made: a current member of the same name
     * that a description {@link Wanted#keeps} stays (the same object: live count, counters, health, admin state)
     * and takes the described weight; only the others are {@link Wanted#create created}, on the owner's thread.
     * A relist that keeps most servers then makes only the few that changed, and one that changes nothing (same
     * servers, order, weights and drain flags) publishes no snapshot and rebuilds no balancer.
     *
     * @param drain as for {@link Replace}
     */
    record Relist(List<? extends Wanted> wanted, Set<String> drain) implements BackendChange {
        public Relist {
            wanted = List.copyOf(wanted);
            drain = drain == null ? null : Set.copyOf(drain);
        }
    }

    /** A server a {@link Relist} wants, described by its settings. Called only on the backend owner's thread. */
    interface Wanted {
        String name();

        /** The weight the server has after the relist, kept or new. */
        int weight();

        /** True when {@code current} (the member of this name) is this server: same address, backup, maxconn, proxy. */
        boolean keeps(Server current);

        /** A new server as described (named {@link #name()}); called only when no current member is kept. */
        Server create();
    }
}
