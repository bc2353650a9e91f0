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
}
