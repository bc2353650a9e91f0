package dev.planetary.core.balance;

import static dev.planetary.core.balance.TestServers.server;
import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.backend.Server;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RoundRobinBalancerTest {

    private static List<Server> pickMany(Balancer b, int count) {
        List<Server> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            Server s = b.pick(0, null);
            out.add(s);
            b.released(s);
        }
        return out;
    }

    @Test
    void smoothSequenceForFiveOneOne() {
        Server a = server("a", 5);
        Server b = server("b", 1);
        Server c = server("c", 1);
        RoundRobinBalancer rr = new RoundRobinBalancer(List.of(a, b, c));
        assertThat(pickMany(rr, 14)).containsExactly(a, a, b, a, c, a, a, a, a, b, a, c, a, a);
    }

    @Test
    void weightsFollowedOver7000Picks() {
        Server a = server("a", 5);
        Server b = server("b", 1);
        Server c = server("c", 1);
        RoundRobinBalancer rr = new RoundRobinBalancer(List.of(a, b, c));
        Map<Server, Integer> counts = new IdentityHashMap<>();
        for (Server s : pickMany(rr, 7000)) {
            counts.merge(s, 1, Integer::sum);
        }
        assertThat(counts).containsEntry(a, 5000).containsEntry(b, 1000).containsEntry(c, 1000);
        assertThat(a.active() + b.active() + c.active()).isZero();
        assertThat(a.total()).isEqualTo(5000);
    }

    @Test
    void fullServerIsSkippedAndAllFullGivesNull() {
        Server a = server("a", 1, 1);
        Server b = server("b", 1, 1);
        RoundRobinBalancer rr = new RoundRobinBalancer(List.of(a, b));
        Server first = rr.pick(0, null);
        Server second = rr.pick(0, null);
        assertThat(List.of(first, second)).containsExactlyInAnyOrder(a, b);
        assertThat(rr.pick(0, null)).isNull();
        rr.released(a);
        assertThat(rr.pick(0, null)).isSameAs(a);
        assertThat(rr.pick(0, null)).isNull();
    }

    @Test
    void weightChangeRebuildsTheCycle() {
        Server a = server("a", 1);
        Server b = server("b", 1);
        RoundRobinBalancer rr = new RoundRobinBalancer(List.of(a, b));
        assertThat(rr.cycle()).containsExactly(a, b);
        b.weight(3);
        rr.weightChanged(b);
        assertThat(rr.cycle()).containsExactly(b, a, b, b);
        b.weight(0);
        rr.weightChanged(b);
        assertThat(rr.cycle()).containsExactly(a);
        assertThat(rr.usableCount()).isEqualTo(1);
    }

    @Test
    void largeSetPicksInConstantTable() {
        List<Server> servers = TestServers.servers(10_000, 1);
        RoundRobinBalancer rr = new RoundRobinBalancer(servers);
        List<Server> picks = pickMany(rr, 10_000);
        assertThat(picks).containsExactlyElementsOf(servers);
    }
}
