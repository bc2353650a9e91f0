package dev.planetary.core.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.BalanceAlgorithm;
import dev.planetary.core.config.HashType;
import java.net.InetSocketAddress;
import java.util.ArrayList;
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
        assertThat(be.server("s1").orElseThrow().discoveryDrain()).isFalse();
        assertThat(be.server("s1").orElseThrow().usable()).isFalse();
        assertThat(picks(be, 4)).containsOnly("s2");

        be.setAdmin("s1", Server.Admin.READY); // the operator ends its own drain: nothing holds s1 any more
        assertThat(be.server("s1").orElseThrow().usable()).isTrue();
        assertThat(picks(be, 4)).containsExactlyInAnyOrder("s1", "s1", "s2", "s2");
    }

    @Test
    void theOperatorsReadyDoesNotEndTheRegistrysDrain() {
        Backend be = new Backend("be", BalanceAlgorithm.ROUNDROBIN, HashType.MAP_BASED,
            List.of(server("s1"), server("s2")));
        be.replaceServers(List.of(server("s1"), server("s2")), Set.of("s1")); // the registry drains s1 (VM leaving)
        Server s1 = be.server("s1").orElseThrow();
        assertThat(s1.discoveryDrain()).isTrue();
        assertThat(s1.admin()).as("the operator's state is not the registry's to set").isEqualTo(Server.Admin.READY);
        assertThat(s1.effectiveAdmin()).as("shown as DRAIN, whichever source drains it")
            .isEqualTo(Server.Admin.DRAIN);

        be.setAdmin("s1", Server.Admin.READY); // the operator says ready while the registry still drains it
        be.replaceServers(List.of(server("s1"), server("s2")), Set.of("s1")); // the registry still says so
        assertThat(s1.discoveryDrain()).as("the operator's ready does not clear the registry's drain").isTrue();
        assertThat(s1.usable()).isFalse();
        assertThat(picks(be, 4)).containsOnly("s2");

        be.setAdmin("s1", Server.Admin.MAINT);
        be.setAdmin("s1", Server.Admin.READY); // a maint round trip does not clear it either
        assertThat(s1.discoveryDrain()).isTrue();
        assertThat(picks(be, 4)).containsOnly("s2");

        be.replaceServers(List.of(server("s1"), server("s2")), Set.of()); // the registry's drain ends
        assertThat(s1.discoveryDrain()).isFalse();
        assertThat(s1.effectiveAdmin()).isEqualTo(Server.Admin.READY);
        assertThat(picks(be, 4)).containsExactlyInAnyOrder("s1", "s1", "s2", "s2");
    }

    @Test
    void maintenanceIsShownOverEitherDrain() {
        Backend be = new Backend("be", BalanceAlgorithm.ROUNDROBIN, HashType.MAP_BASED,
            List.of(server("s1"), server("s2")));
        be.setAdmin("s1", Server.Admin.MAINT);
        be.replaceServers(List.of(server("s1"), server("s2")), Set.of("s1"));
        Server s1 = be.server("s1").orElseThrow();
        assertThat(s1.admin()).isEqualTo(Server.Admin.MAINT);
        assertThat(s1.effectiveAdmin()).isEqualTo(Server.Admin.MAINT);

        be.setAdmin("s1", Server.Admin.DRAIN); // maintenance over, the operator still drains it; so does the registry
        be.replaceServers(List.of(server("s1"), server("s2")), Set.of());
        assertThat(s1.effectiveAdmin()).as("the operator's drain outlives the registry's").isEqualTo(Server.Admin.DRAIN);
        assertThat(s1.usable()).isFalse();
    }

    /** Picks {@code n} connections and releases each at once; returns the names picked, null for none. */
    private static List<String> picks(Backend be, int n) {
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Server s = be.pick(i, null);
            out.add(s == null ? null : s.name());
            if (s != null) {
                be.release(s);
            }
        }
        return out;
    }
}
