package dev.planetary.core.balance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.backend.Server;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Leastconn against a reference model of HAProxy's semantics, over random operations: every pick takes, among the
 * usable, non-full servers other than {@code avoid}, one with the fewest connections per unit of weight, and among
 * those the one whose count or state changed least recently; null only if there is none.
 */
class LeastConnModelTest {

    @Test
    void everyPickIsTheModelsChoice() {
        for (long seed = 1; seed <= 40; seed++) {
            run(new Random(seed));
        }
    }

    private static void run(Random random) {
        int n = 1 + random.nextInt(12);
        List<Server> servers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            servers.add(TestServers.server("s" + i, 1 + random.nextInt(4), random.nextInt(3) == 0 ? 3 : 0));
        }
        LeastConnBalancer lc = new LeastConnBalancer(servers);
        long clock = 0;
        long[] touched = new long[n];
        for (int i = 0; i < n; i++) {
            touched[i] = clock++; // built in list order
        }
        List<Server> held = new ArrayList<>();
        for (int step = 0; step < 2_000; step++) {
            int op = random.nextInt(10);
            if (op < 5) {
                Server avoid = random.nextInt(4) == 0 ? servers.get(random.nextInt(n)) : null;
                Server expected = model(servers, touched, avoid);
                Server got = lc.pick(0, avoid);
                assertThat(got).as("step %d", step).isSameAs(expected);
                if (got != null) {
                    touched[servers.indexOf(got)] = clock++;
                    held.add(got);
                }
            } else if (op < 9) {
                if (!held.isEmpty()) {
                    Server s = held.remove(random.nextInt(held.size()));
                    lc.released(s);
                    touched[servers.indexOf(s)] = clock++;
                }
            } else {
                int i = random.nextInt(n);
                Server s = servers.get(i);
                switch (random.nextInt(3)) {
                    case 0 -> {
                        s.weight(random.nextInt(4));
                        lc.weightChanged(s);
                    }
                    case 1 -> {
                        s.up(!s.up());
                        if (s.up()) {
                            lc.serverUp(s);
                        } else {
                            lc.serverDown(s);
                        }
                    }
                    default -> {
                        s.admin(s.admin() == Server.Admin.READY ? Server.Admin.DRAIN : Server.Admin.READY);
                        lc.serverDown(s);
                    }
                }
                touched[i] = clock++;
            }
            assertThat(lc.consistent()).isTrue();
        }
    }

    /** The reference: fewest connections per unit of weight, then least recently touched; null if none. */
    private static Server model(List<Server> servers, long[] touched, Server avoid) {
        Server best = null;
        long bestLoad = 0;
        long bestTouched = 0;
        for (int i = 0; i < servers.size(); i++) {
            Server s = servers.get(i);
            if (s == avoid || !s.usable() || s.full()) {
                continue;
            }
            long load = s.active() * LeastConnBalancer.SCALE / s.weight();
            if (best == null || load < bestLoad || (load == bestLoad && touched[i] < bestTouched)) {
                best = s;
                bestLoad = load;
                bestTouched = touched[i];
            }
        }
        return best;
    }
}
