package dev.planetary.core.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.BalanceAlgorithm;
import dev.planetary.core.config.HashType;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Two writers set a server's admin state: the operator (runtime API: drain/ready/maint) and the registry (a replace
 * with a drain set). The registry's "back to READY" must only undo a drain that is the registry's own: an operator's
 * drain that the registry happened to repeat for a while is the operator's, and ending the registry's drain must not
 * lose it (HAProxy keeps the sources apart: forced vs. inherited/resolver drain flags).
 */
class AdminStateOwnersTest {

    private static Server server(String name) {
        return new Server(name, InetSocketAddress.createUnresolved("10.0.0.1", 8000), 1, 0, false, true,
            Server.Admin.READY);
    }

    @Test
    void theRegistryEndingItsDrainDoesNotUndoTheOperatorsDrain() {
        Backend be = new Backend("be", BalanceAlgorithm.ROUNDROBIN, HashType.MAP_BASED,
            List.of(server("s1"), server("s2")));
        be.setAdmin("s1", Server.Admin.DRAIN); // the operator drains s1 (say, to upgrade it)

        be.replaceServers(List.of(server("s1"), server("s2")), Set.of("s1")); // the registry drains it too
        assertThat(be.server("s1").orElseThrow().admin()).isEqualTo(Server.Admin.DRAIN);

        be.replaceServers(List.of(server("s1"), server("s2")), Set.of()); // the registry's drain ends
        assertThat(be.server("s1").orElseThrow().admin())
            .as("the operator drained s1 before the registry did and never made it ready: it stays drained")
            .isEqualTo(Server.Admin.DRAIN);
    }
}
