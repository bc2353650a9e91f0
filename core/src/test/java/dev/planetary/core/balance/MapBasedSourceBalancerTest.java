package dev.planetary.core.balance;

import static dev.planetary.core.balance.TestServers.server;
import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.backend.Server;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MapBasedSourceBalancerTest {

    @Test
    void hashModuloTotalWeightThroughTheMap() {
        Server a = server("a", 2);
        Server b = server("b", 1);
        Server c = server("c", 1);
        MapBasedSourceBalancer m = new MapBasedSourceBalancer(List.of(a, b, c));
        List<Server> map = m.mapView();
        assertThat(map).containsExactly(a, b, c, a);
        Random random = new Random(1);
        Map<Server, Integer> counts = new IdentityHashMap<>();
        for (int i = 0; i < 100_000; i++) {
            int h = random.nextInt();
            Server s = m.pick(h, null);
            assertThat(s).isSameAs(map.get(MapBasedSourceBalancer.index(h, 4)));
            assertThat(m.pick(h, null)).as("same source, same server").isSameAs(s);
            m.released(s);
            m.released(s);
            counts.merge(s, 1, Integer::sum);
        }
        assertThat(counts.get(a)).isBetween(49_000, 51_000);
        assertThat(counts.get(b)).isBetween(24_000, 26_000);
    }

    @Test
    void changingTheSetRemapsMostClientsUnlikeConsistent() {
        List<Server> servers = TestServers.servers(4, 1);
        MapBasedSourceBalancer m = new MapBasedSourceBalancer(servers);
        Random random = new Random(2);
        int[] hashes = random.ints(20_000).toArray();
        Server[] before = new Server[hashes.length];
        for (int i = 0; i < hashes.length; i++) {
            before[i] = m.mapView().get(MapBasedSourceBalancer.index(hashes[i], 4));
        }
        m.serverAdded(server("s4", 1));
        int moved = 0;
        for (int i = 0; i < hashes.length; i++) {
            Server s = m.pick(hashes[i], null);
            m.released(s);
            if (s != before[i]) {
                moved++;
            }
        }
        // Modulo 4 -> modulo 5: a key stays only if h mod 4 == h mod 5 picks the same server, about 1 in 5.
        assertThat(moved).isGreaterThan(hashes.length * 6 / 10);
    }

    @Test
    void fullMappedServerFallsBackDeterministically() {
        Server a = server("a", 1, 1);
        Server b = server("b", 1);
        MapBasedSourceBalancer m = new MapBasedSourceBalancer(List.of(a, b));
        int h = 0;
        while (m.mapView().get(MapBasedSourceBalancer.index(h, 2)) != a) {
            h++;
        }
        assertThat(m.pick(h, null)).isSameAs(a);
        assertThat(m.pick(h, null)).isSameAs(b);
        assertThat(m.pick(h, b)).isNull();
    }
}
