package dev.planetary.proxy.swarm;

import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.proxy.testing.Socat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The runtime API on servers discovered from Genesis: show genesis, and what a manual change means on an update. */
class StatsSocketGenesisTest {

    @TempDir
    Path dir;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private Proxy proxy;

    @AfterEach
    void tearDown() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private String cmd(String command) throws Exception {
        return Socat.run("UNIX-CONNECT:" + dir.resolve("admin.sock"), command + "\n");
    }

    private static Map<String, Integer> tally(int port, int n) {
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < n; i++) {
            seen.merge(String.valueOf(Routes.who(port)), 1, Integer::sum);
        }
        return seen;
    }

    @Test
    void discoveredServersAreAddressableAndAnOperatorsMaintOutlivesAnUpdate() throws Exception {
        int low = Ports.pcpuRun(4);
        VmServer a = VmServer.start("a", "127.0.0.11");
        VmServer b = VmServer.start("b", "127.0.0.12");
        closeables.add(a);
        closeables.add(b);
        FakeGenesis genesis = FakeGenesis.start(0).plan(FakeGenesis.plan(Map.of("pcpu", new int[] {low, low + 3}),
            1_000));
        closeables.add(genesis);
        String vmA = FakeGenesis.vm("vm_00000a", a.ip(), "active", Map.of("pcpu", a.port()), Map.of("pcpu", low + 1));
        String vmB = FakeGenesis.vm("vm_00000b", b.ip(), "active", Map.of("pcpu", b.port()), Map.of("pcpu", low + 2));
        genesis.snapshot(() -> FakeGenesis.snapshot(7, vmA));
        proxy = Harness.start("""
            global
                stats socket %s level admin
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            genesis swarm
                url %s
            listen pcpu
                bind 127.0.0.1:%d-%d
                balance roundrobin
                discover genesis swarm service pcpu
            """.formatted(dir.resolve("admin.sock"), genesis.url(), low, low + 3));
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.discovery("swarm").version() >= 7);
        assertThat(cmd("show genesis")).startsWith("# name url state version vms views_applied stale_episodes"
            + " current_url\n" + "swarm " + genesis.url() + " connected 7 1 ")
            .endsWith(" 0 " + genesis.url() + "\n\n");

        assertThat(cmd("set server pcpu/vm_00000a state maint; set server pcpu/vm_00000a weight 5"))
            .isEqualTo("\n\n");
        genesis.send(FakeGenesis.change(8, "added", vmB));
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.discovery("swarm").version() >= 8);
        // the operator's maintenance stays across Genesis' update; the weight is Genesis' own again
        assertThat(tally(low, 4)).containsOnly(Map.entry("b", 4));
        assertThat(cmd("show stat pcpu 4 -1")).contains("pcpu,vm_00000a,").contains(",MAINT,");
        assertThat(cmd("get weight pcpu/vm_00000a")).startsWith("1 ");
        assertThat(cmd("set server pcpu/vm_00000a state ready")).isEqualTo("\n");
        assertThat(tally(low, 4)).containsOnly(Map.entry("a", 2), Map.entry("b", 2));
    }
    @Test
    void showGenesisNamesTheUrlFollowedAfterAFailOver() throws Exception {
        int low = Ports.pcpuRun(2);
        FakeGenesis genesis = FakeGenesis.start(0);
        closeables.add(genesis);
        String vm = FakeGenesis.vm("vm_00000a", "127.0.0.11", "active", Map.of("pcpu", 7000), Map.of("pcpu", low + 1));
        genesis.snapshot(() -> FakeGenesis.snapshot(3, vm));
        String dead;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            dead = "http://127.0.0.1:" + s.getLocalPort(); // closed again: nothing listens there
        }
        proxy = Harness.start("""
            global
                stats socket %s level admin
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            genesis swarm
                url %s
                url %s
            listen pcpu
                bind 127.0.0.1:%d-%d
                discover genesis swarm service pcpu
            """.formatted(dir.resolve("admin.sock"), dead, genesis.url(), low, low + 1));
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.discovery("swarm").version() >= 3);
        String shown = cmd("show genesis");
        assertThat(shown).as("the list, then the URL followed: the second one, the first being down")
            .contains("\nswarm " + dead + "," + genesis.url() + " connected 3 1 ")
            .endsWith(" " + genesis.url() + "\n\n");
    }
}
