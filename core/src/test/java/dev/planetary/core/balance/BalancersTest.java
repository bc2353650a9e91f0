package dev.planetary.core.balance;

import static dev.planetary.core.balance.TestServers.server;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.BalanceAlgorithm;
import dev.planetary.core.config.HashType;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Contract tests that every balancer must pass. */
class BalancersTest {

    static List<String> names() {
        return Balancers.NAMES;
    }

    /** Picks with varied source hashes (the hashing balancers need them to reach every server). */
    private static List<Server> pickAndRelease(Balancer b, int count, Server avoid) {
        Random random = new Random(3);
        List<Server> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            Server s = b.pick(random.nextInt(), avoid);
            if (s != null) {
                b.released(s);
            }
            out.add(s);
        }
        return out;
    }

    @Test
    void factoryMapsAlgorithms() {
        List<Server> servers = TestServers.servers(3, 1);
        assertThat(Balancers.create(BalanceAlgorithm.ROUNDROBIN, HashType.CONSISTENT, servers))
                .isInstanceOf(RoundRobinBalancer.class);
        assertThat(Balancers.create(BalanceAlgorithm.LEASTCONN, HashType.MAP_BASED, TestServers.servers(3, 1)))
                .isInstanceOf(LeastConnBalancer.class);
        assertThat(Balancers.create(BalanceAlgorithm.SOURCE, HashType.CONSISTENT, servers))
                .isInstanceOf(SourceHashBalancer.class);
        assertThat(Balancers.create(BalanceAlgorithm.SOURCE, HashType.MAP_BASED, servers))
                .isInstanceOf(MapBasedSourceBalancer.class);
        assertThat(Balancers.byName("source", servers)).isInstanceOf(MapBasedSourceBalancer.class);
        assertThatThrownBy(() -> Balancers.byName("random", servers))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("random");
    }

    @ParameterizedTest
    @MethodSource("names")
    void emptySetGivesNullNeverThrows(String name) {
        Balancer b = Balancers.byName(name, List.of());
        assertThat(b.usableCount()).isZero();
        assertThat(b.pick(0, null)).isNull();
        assertThat(b.pick(-1, server("x", 1))).isNull();
        Server s = server("late", 1);
        b.serverAdded(s);
        assertThat(b.usableCount()).isEqualTo(1);
        assertThat(b.pick(12345, null)).isSameAs(s);
        b.released(s);
        b.serverRemoved(s);
        assertThat(b.pick(12345, null)).isNull();
        assertThat(s.active()).isZero();
    }

    @ParameterizedTest
    @MethodSource("names")
    void avoidIsRespected(String name) {
        List<Server> servers = TestServers.servers(3, 1);
        Balancer b = Balancers.byName(name, servers);
        for (Server avoid : servers) {
            List<Server> picks = pickAndRelease(b, 3000, avoid);
            assertThat(picks).doesNotContainNull().doesNotContain(avoid);
            assertThat(picks).containsAll(servers.stream().filter(s -> s != avoid).toList());
        }
        Server only = server("only", 1);
        Balancer single = Balancers.byName(name, List.of(only));
        assertThat(single.pick(7, only)).isNull();
        assertThat(only.active()).isZero();
    }

    @ParameterizedTest
    @MethodSource("names")
    void downDrainedAndWeightZeroGetNothingUntilBack(String name) {
        List<Server> servers = TestServers.servers(4, 1);
        Balancer b = Balancers.byName(name, servers);
        Server down = servers.get(0);
        Server drained = servers.get(1);
        Server zero = servers.get(2);
        down.up(false);
        b.serverDown(down);
        drained.admin(Server.Admin.DRAIN);
        b.serverDown(drained);
        zero.weight(0);
        b.weightChanged(zero);
        assertThat(b.usableCount()).isEqualTo(1);
        assertThat(pickAndRelease(b, 2000, null)).containsOnly(servers.get(3));

        down.up(true);
        b.serverUp(down);
        drained.admin(Server.Admin.READY);
        b.serverUp(drained);
        zero.weight(1);
        b.weightChanged(zero);
        assertThat(b.usableCount()).isEqualTo(4);
        assertThat(pickAndRelease(b, 2000, null)).containsAll(servers);
        assertThat(servers).allMatch(s -> s.active() == 0);
    }

    @ParameterizedTest
    @MethodSource("names")
    void stateChangedBeforeItsCallbackIsAlreadyHonoured(String name) {
        List<Server> servers = TestServers.servers(3, 1);
        Balancer b = Balancers.byName(name, servers);
        servers.get(1).admin(Server.Admin.MAINT);
        assertThat(pickAndRelease(b, 2000, null)).doesNotContainNull().doesNotContain(servers.get(1));
    }

    @ParameterizedTest
    @MethodSource("names")
    void allFullGivesNullAndReleaseReopens(String name) {
        List<Server> servers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            servers.add(server("f" + i, 1, 2));
        }
        Balancer b = Balancers.byName(name, servers);
        Random random = new Random(1);
        for (int i = 0; i < 6; i++) {
            assertThat(b.pick(random.nextInt(), null)).isNotNull();
        }
        assertThat(servers).allMatch(s -> s.active() == 2);
        assertThat(b.pick(random.nextInt(), null)).isNull();
        b.released(servers.get(2));
        assertThat(b.pick(random.nextInt(), null)).isSameAs(servers.get(2));
        assertThat(b.pick(random.nextInt(), null)).isNull();
    }
}
