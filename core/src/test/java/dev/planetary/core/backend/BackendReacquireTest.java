package dev.planetary.core.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.BalanceAlgorithm;
import dev.planetary.core.config.HashType;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A retry to the same server goes through membership: {@link Backend#reacquire}. */
class BackendReacquireTest {

    private static Server server(String name, int maxconn) {
        return new Server(name, InetSocketAddress.createUnresolved("10.0.0.1", 8000), 1, maxconn, false, true,
            Server.Admin.READY);
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void onlyACurrentUsableNotFullMemberIsTakenAgain(BalanceAlgorithm algo) {
        Server a = server("a", 2);
        Server b = server("b", 0);
        Backend be = new Backend("be", algo, HashType.CONSISTENT, List.of(a, b));

        assertThat(be.reacquire(a)).isSameAs(a);
        assertThat(a.active()).isEqualTo(1);
        assertThat(be.reacquire(a)).isSameAs(a);
        assertThat(be.reacquire(a)).as("full").isNull();
        assertThat(a.active()).isEqualTo(2);
        be.release(a);
        be.release(a);

        be.setAdmin("a", Server.Admin.DRAIN);
        assertThat(be.reacquire(a)).as("drained").isNull();
        be.setAdmin("a", Server.Admin.READY);
        be.setUp(a, false);
        assertThat(be.reacquire(a)).as("down").isNull();
        be.setUp(a, true);

        be.removeServer("a");
        assertThat(be.reacquire(a)).as("removed").isNull();
        assertThat(a.active()).isZero();

        Server sameName = server("b", 0);
        be.replaceServers(List.of(server("b", 5)));
        assertThat(be.reacquire(b)).as("replaced by another object of the same name").isNull();
        assertThat(be.reacquire(sameName)).as("not the member object").isNull();
        assertThat(b.active()).isZero();
    }

    @ParameterizedTest
    @EnumSource(BalanceAlgorithm.class)
    void aReacquiredSlotCountsForTheBalancer(BalanceAlgorithm algo) {
        Server a = server("a", 0);
        Server b = server("b", 0);
        Backend be = new Backend("be", algo, HashType.MAP_BASED, List.of(a, b));
        assertThat(be.reacquire(a)).isSameAs(a);
        if (algo == BalanceAlgorithm.LEASTCONN) {
            assertThat(be.pick(0, null)).as("a already has one connection").isSameAs(b);
        }
        be.release(a);
        assertThat(a.active()).isZero();
    }
}
