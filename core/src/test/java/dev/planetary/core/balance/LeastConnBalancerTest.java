package dev.planetary.core.balance;

import static dev.planetary.core.balance.TestServers.server;
import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.backend.Server;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LeastConnBalancerTest {

    private static int spread(List<Server> servers) {
        int min = Integer.MAX_VALUE;
        int max = Integer.MIN_VALUE;
        for (Server s : servers) {
            min = Math.min(min, s.active());
            max = Math.max(max, s.active());
        }
        return max - min;
    }

    @Test
    void equalWeightsStayWithinOneWithoutReleases() {
        List<Server> servers = TestServers.servers(37, 1);
        LeastConnBalancer lc = new LeastConnBalancer(servers);
        for (int i = 0; i < 10_000; i++) {
            assertThat(lc.pick(i, null)).isNotNull();
            assertThat(spread(servers)).isLessThanOrEqualTo(1);
        }
        assertThat(lc.consistent()).isTrue();
    }

    @Test
    void weightsOneTwoThreeGetProportionalConnections() {
        Server a = server("a", 1);
        Server b = server("b", 2);
        Server c = server("c", 3);
        LeastConnBalancer lc = new LeastConnBalancer(List.of(a, b, c));
        for (int i = 0; i < 6000; i++) {
            lc.pick(0, null);
        }
        assertThat(a.active()).isBetween(990, 1010);
        assertThat(b.active()).isBetween(1990, 2010);
        assertThat(c.active()).isBetween(2990, 3010);
    }

    @Test
    void tiesRotateAmongEqualLoads() {
        Server a = server("a", 1);
        Server b = server("b", 1);
        Server c = server("c", 1);
        LeastConnBalancer lc = new LeastConnBalancer(List.of(a, b, c));
        List<Server> order = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            Server s = lc.pick(0, null);
            order.add(s);
            lc.released(s);
        }
        assertThat(order.subList(0, 3)).containsExactlyInAnyOrder(a, b, c);
        assertThat(order.subList(3, 6)).containsExactlyElementsOf(order.subList(0, 3));
        assertThat(order.subList(6, 9)).containsExactlyElementsOf(order.subList(0, 3));
    }

    @Test
    void releaseMakesAServerPreferredAgain() {
        List<Server> servers = TestServers.servers(4, 1);
        LeastConnBalancer lc = new LeastConnBalancer(servers);
        for (int i = 0; i < 8; i++) {
            lc.pick(0, null);
        }
        Server s2 = servers.get(2);
        lc.released(s2);
        assertThat(lc.pick(0, null)).isSameAs(s2);
    }

    @Test
    void maxconnIsRespected() {
        Server small = server("small", 1, 2);
        Server big = server("big", 1, 5);
        LeastConnBalancer lc = new LeastConnBalancer(List.of(small, big));
        for (int i = 0; i < 7; i++) {
            assertThat(lc.pick(0, null)).isNotNull();
        }
        assertThat(small.active()).isEqualTo(2);
        assertThat(big.active()).isEqualTo(5);
        assertThat(lc.pick(0, null)).isNull();
        lc.released(small);
        assertThat(lc.pick(0, null)).isSameAs(small);
        assertThat(lc.pick(0, null)).isNull();
        assertThat(lc.consistent()).isTrue();
    }

    @Test
    void avoidTakesTheBestOtherServer() {
        List<Server> servers = TestServers.servers(16, 1);
        LeastConnBalancer lc = new LeastConnBalancer(servers);
        for (int i = 0; i < 15; i++) {
            lc.pick(0, null);
        }
        Server idle = null;
        for (Server s : servers) {
            if (s.active() == 0) {
                idle = s;
            }
        }
        Server next = lc.pick(0, idle);
        assertThat(next).isNotSameAs(idle).isNotNull();
        assertThat(next.active()).isEqualTo(2);
        assertThat(lc.pick(0, null)).isSameAs(idle);
    }

    @Test
    void serverChangesWithoutCallbackAreNotPicked() {
        Server a = server("a", 1);
        Server b = server("b", 1);
        LeastConnBalancer lc = new LeastConnBalancer(List.of(a, b));
        a.up(false);
        for (int i = 0; i < 10; i++) {
            assertThat(lc.pick(0, null)).isSameAs(b);
        }
        a.up(true);
        lc.serverUp(a);
        assertThat(lc.pick(0, null)).isSameAs(a);
    }

    @Test
    void membershipChangesKeepCounts() {
        Server a = server("a", 1);
        Server b = server("b", 1);
        LeastConnBalancer lc = new LeastConnBalancer(List.of(a, b));
        for (int i = 0; i < 4; i++) {
            lc.pick(0, null);
        }
        Server c = server("c", 1);
        lc.serverAdded(c);
        assertThat(lc.pick(0, null)).isSameAs(c);
        assertThat(lc.pick(0, null)).isSameAs(c);
        lc.serverRemoved(a);
        lc.released(a);
        assertThat(a.active()).isEqualTo(1);
        assertThat(lc.holds(a)).isFalse();
        for (int i = 0; i < 10; i++) {
            assertThat(lc.pick(0, null)).isNotSameAs(a);
        }
        assertThat(lc.consistent()).isTrue();
        assertThat(Math.abs(b.active() - c.active())).isLessThanOrEqualTo(1);
    }

    @Test
    void concurrentPickAndReleaseConverge() throws Exception {
        List<Server> servers = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            servers.add(server("s" + i, 1 + i % 3, i % 5 == 0 ? 3 : 0));
        }
        LeastConnBalancer lc = new LeastConnBalancer(servers);
        int threads = 4;
        int rounds = 50_000;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                results.add(pool.submit(() -> {
                    start.await();
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    Server[] held = new Server[8];
                    int picked = 0;
                    for (int i = 0; i < rounds; i++) {
                        int k = random.nextInt(held.length);
                        if (held[k] != null) {
                            lc.released(held[k]);
                        }
                        held[k] = lc.pick(i, random.nextInt(4) == 0 ? held[(k + 1) % held.length] : null);
                        if (held[k] != null) {
                            picked++;
                        }
                    }
                    for (Server s : held) {
                        if (s != null) {
                            lc.released(s);
                        }
                    }
                    return picked;
                }));
            }
            start.countDown();
            for (Future<Integer> f : results) {
                assertThat(f.get(60, TimeUnit.SECONDS)).isGreaterThan(rounds * 9 / 10);
            }
        } finally {
            pool.shutdownNow();
        }
        for (Server s : servers) {
            assertThat(s.active()).as("%s", s).isZero();
        }
        assertThat(lc.consistent()).isTrue();
        // After quiescence the tree is exact: picks fill servers evenly by weight again.
        for (int i = 0; i < 120; i++) {
            assertThat(lc.pick(0, null)).isNotNull();
        }
        long min = Long.MAX_VALUE;
        long max = 0;
        for (Server s : servers) {
            if (s.maxconn() == 0) {
                long load = s.active() * LeastConnBalancer.SCALE / s.weight();
                min = Math.min(min, load);
                max = Math.max(max, load);
            }
        }
        assertThat(max - min).isLessThanOrEqualTo(LeastConnBalancer.SCALE);
    }

    @Test
    void largeSetStaysExact() {
        List<Server> servers = TestServers.servers(10_000, 1);
        LeastConnBalancer lc = new LeastConnBalancer(servers);
        for (int i = 0; i < 25_000; i++) {
            lc.pick(0, null);
        }
        assertThat(spread(servers)).isLessThanOrEqualTo(1);
        for (int i = 0; i < 10_000; i += 2) {
            lc.released(servers.get(i));
        }
        assertThat(lc.consistent()).isTrue();
        // Every pick takes a least loaded server: O(n) check per pick, a few hundred picks.
        for (int i = 0; i < 300; i++) {
            int min = Integer.MAX_VALUE;
            for (Server s : servers) {
                min = Math.min(min, s.active());
            }
            assertThat(lc.pick(0, null).active()).isEqualTo(min + 1);
        }
    }
}
