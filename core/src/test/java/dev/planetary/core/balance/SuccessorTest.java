package dev.planetary.core.balance;

import static dev.planetary.core.balance.TestServers.server;
import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.backend.Server;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link Balancer#successor}: the next snapshot's balancer is what a fresh one over the same servers would be. */
class SuccessorTest {

    static List<String> names() {
        return Balancers.NAMES;
    }

    @ParameterizedTest
    @MethodSource("names")
    void successorServesTheNewSetAndThePredecessorKeepsItsOwn(String name) {
        List<Server> servers = TestServers.servers(4, 1);
        Balancer b = Balancers.byName(name, servers);
        Server gone = servers.get(0);
        Server added = server("new", 1);
        List<Server> next = new ArrayList<>(servers.subList(1, 4));
        next.add(added);
        Balancer n = b.successor(next);
        assertThat(n).isNotSameAs(b).isInstanceOf(b.getClass());
        assertThat(n.usableCount()).isEqualTo(4);
        List<Server> picked = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            Server s = n.pick(i * 0x9e3779b9, null);
            picked.add(s);
            n.released(s);
        }
        assertThat(picked).doesNotContain(gone).contains(added);
        // the old one still serves the old set (readers of the old snapshot)
        for (int i = 0; i < 100; i++) {
            Server s = b.pick(i * 0x9e3779b9, null);
            assertThat(s).isNotNull().isNotSameAs(added);
            b.released(s);
        }
    }

    /** Incremental batches give exactly the table a fresh build gives (the table is a function of the set). */
    @Test
    void consistentHashSuccessorsEqualAFreshBuild() {
        List<Server> servers = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            servers.add(server("s" + i, 1 + i % 3));
        }
        Balancer b = new SourceHashBalancer(servers, 14);
        // batch 1: two leave, three join, one weight change, one goes down
        List<Server> next = new ArrayList<>(servers.subList(2, 40));
        for (int i = 0; i < 3; i++) {
            next.add(server("n" + i, 2));
        }
        next.get(5).weight(3);
        next.get(9).up(false);
        b = b.successor(next);
        assertSameTable((SourceHashBalancer) b, next);
        // batch 2: the down one comes back, a big change (full build path)
        next.get(9).up(true);
        List<Server> big = new ArrayList<>(next.subList(20, next.size()));
        for (int i = 0; i < 30; i++) {
            big.add(server("m" + i, 1));
        }
        b = b.successor(big);
        assertSameTable((SourceHashBalancer) b, big);
        // batch 3: nothing changes
        Balancer same = b.successor(big);
        assertSameTable((SourceHashBalancer) same, big);
    }

    private static void assertSameTable(SourceHashBalancer got, List<Server> servers) {
        SourceHashBalancer fresh = new SourceHashBalancer(servers, 14);
        for (int bucket = 0; bucket < got.tableSize(); bucket++) {
            assertThat(got.ownerOfBucket(bucket)).as("bucket %d", bucket).isSameAs(fresh.ownerOfBucket(bucket));
        }
    }

    @Test
    void leastConnSuccessorReadsLiveCounts() {
        List<Server> servers = TestServers.servers(3, 1);
        LeastConnBalancer lc = new LeastConnBalancer(servers);
        Server first = lc.pick(0, null);
        LeastConnBalancer next = (LeastConnBalancer) lc.successor(servers);
        assertThat(next.consistent()).isTrue();
        assertThat(next.pick(0, null)).isNotSameAs(first);
        next.refresh(first);
        assertThat(next.consistent()).isTrue();
    }

    @Test
    void leastConnSuccessorKeepsTheTieOrderAndPutsNewServersLast() {
        Server a = server("a", 1);
        Server b = server("b", 1);
        Server c = server("c", 1);
        LeastConnBalancer lc = new LeastConnBalancer(List.of(a, b, c));
        assertThat(lc.pick(0, null)).isSameAs(a);
        lc.released(a); // a is now the most recently changed of the equal loads
        Server d = server("d", 1);
        Balancer next = lc.successor(List.of(a, b, c, d));
        List<Server> order = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            order.add(next.pick(0, null));
        }
        assertThat(order).containsExactly(b, c, a, d);
    }
}
