package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.core.backend.Backend;
import dev.planetary.proxy.swarm.FakeGenesis;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 8: a VM that registers joins a consistent-hash backend ({@code balance source}, {@code hash-type
 * consistent}, as pfsshfs) within the same bound as a leastconn one, even beside 1,999 VMs: an addition changes
 * the pages of the table it wins, not the whole 8 MiB table, and reads chunk bounds, not every bucket's score.
 * Real watch stream (a scripted Genesis), real proxy; the bound is generous for a loaded machine (the figure is
 * printed, not asserted).
 */
class ConsistentJoinTest {

    private static final int SWARM = 1_999;
    private static final int JOINS = 20;
    /** Generous: the same for both backends; on a quiet machine a join takes milliseconds. */
    private static final Duration BOUND = Duration.ofSeconds(10);

    private FakeGenesis genesis;
    private Proxy proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        if (genesis != null) {
            genesis.close();
        }
    }

    private static String vm(int o) {
        return FakeGenesis.vm(String.format("vm_%06x", o), "10." + (o / 250) + "." + (o % 250) + ".1", "active",
            Map.of("pcpu", 7000, "ssh", 22), Map.of());
    }

    @Test
    void aNewVmJoinsTheConsistentBackendWithinTheLeastconnBound() throws Exception {
        String[] vms = new String[SWARM - JOINS];
        for (int i = 0; i < vms.length; i++) {
            vms[i] = vm(i + 1);
        }
        String snapshot = FakeGenesis.snapshot(1, vms);
        genesis = FakeGenesis.start(0);
        genesis.snapshot(() -> snapshot);
        proxy = Harness.start("""
            global
                nbthread 1
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            genesis swarm
                url %s
            listen pcpu
                bind 127.0.0.1:%d
                balance leastconn
                discover genesis swarm service pcpu
            listen pfsshfs
                bind 127.0.0.1:%d
                balance source
                hash-type consistent
                discover genesis swarm service ssh
            """.formatted(genesis.url(), Ports.pcpu(), Ports.pcpu()));
        Backend leastconn = proxy.backend("pcpu").backend();
        Backend consistent = proxy.backend("pfsshfs").backend();
        await().atMost(Duration.ofSeconds(60)).until(() -> consistent.servers().size() == vms.length
            && leastconn.servers().size() == vms.length && genesis.openStreams() == 1);

        long[] toLeastconn = new long[JOINS];
        long[] toConsistent = new long[JOINS];
        for (int j = 0; j < JOINS; j++) {
            int o = vms.length + 1 + j;
            String id = String.format("vm_%06x", o);
            long t0 = System.nanoTime();
            genesis.send(FakeGenesis.change(2 + j, "added", vm(o)));
            long[] at = new long[2];
            await().atMost(BOUND).pollInterval(Duration.ofMillis(1)).until(() -> {
                if (at[0] == 0 && leastconn.server(id).isPresent()) {
                    at[0] = System.nanoTime();
                }
                if (at[1] == 0 && consistent.server(id).isPresent()) {
                    at[1] = System.nanoTime();
                }
                return at[0] != 0 && at[1] != 0;
            });
            toLeastconn[j] = at[0] - t0;
            toConsistent[j] = at[1] - t0;
            // in the table, not only in the list: it owns buckets (clients hash to it)
            assertThat(consistent.snapshot().active().usableCount()).isEqualTo(vms.length + 1 + j);
        }
        Arrays.sort(toLeastconn);
        Arrays.sort(toConsistent);
        System.out.printf("join of a VM beside %,d: leastconn median %.1f ms max %.1f ms; consistent median %.1f ms"
                + " max %.1f ms%n", vms.length, toLeastconn[JOINS / 2] / 1e6, toLeastconn[JOINS - 1] / 1e6,
            toConsistent[JOINS / 2] / 1e6, toConsistent[JOINS - 1] / 1e6);
    }
}
