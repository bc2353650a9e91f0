package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Backends.TestServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The balancers seen from a client: which server each real connection reaches. */
class BalancingTest {

    private final Backends backends = new Backends();
    private final List<Proxy> proxies = new ArrayList<>();
    private final List<Socket> held = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (Socket s : held) {
            s.close();
        }
        proxies.forEach(Proxy::close);
        backends.close();
    }

    private int start(String balance, List<TestServer> servers, int... weights) {
        int port = Ports.pcpu();
        proxies.add(Harness.start(config(port, balance, servers, weights)));
        return port;
    }

    static String config(int port, String balance, List<TestServer> servers, int... weights) {
        StringBuilder cfg = new StringBuilder("""
            global
                nbthread 2
            defaults
                mode tcp
                timeout connect 2s
                timeout client 60s
                timeout server 60s
            listen be
                bind 127.0.0.1:%d
            """.formatted(port)).append("    ").append(balance).append('\n');
        for (int i = 0; i < servers.size(); i++) {
            TestServer s = servers.get(i);
            cfg.append("    server ").append(s.name()).append(" 127.0.0.1:").append(s.port());
            if (weights.length > 0) {
                cfg.append(" weight ").append(weights[i]);
            }
            cfg.append('\n');
        }
        return cfg.toString();
    }

    private String hold(int port) throws Exception {
        Socket s = Harness.connect(port);
        held.add(s);
        return Harness.readLine(s);
    }

    private static String once(String source, int port) throws Exception {
        try (Socket s = Harness.connectFrom(source, port)) {
            return Harness.readLine(s);
        }
    }

    private List<TestServer> greeters(int n) {
        List<TestServer> list = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            list.add(backends.greeter("s" + i));
        }
        return list;
    }

    @Test
    void leastconnKeepsLongLivedCountsWithinOneAtEqualWeights() throws Exception {
        int port = start("balance leastconn", greeters(3));
        Map<String, Integer> counts = new TreeMap<>();
        for (int i = 0; i < 31; i++) {
            counts.merge(hold(port), 1, Integer::sum);
            int max = counts.values().stream().max(Integer::compare).orElseThrow();
            int min = counts.size() < 3 ? 0 : counts.values().stream().min(Integer::compare).orElseThrow();
            assertThat(max - min).as("after %d connections: %s", i + 1, counts).isLessThanOrEqualTo(1);
        }
        assertThat(counts).containsOnlyKeys("s1", "s2", "s3");
    }

    @Test
    void leastconnFollowsWeights() throws Exception {
        int port = start("balance leastconn", greeters(3), 1, 2, 3);
        Map<String, Integer> counts = new TreeMap<>();
        for (int i = 0; i < 60; i++) {
            counts.merge(hold(port), 1, Integer::sum);
        }
        assertThat(counts.get("s1")).isBetween(9, 11);
        assertThat(counts.get("s2")).isBetween(19, 21);
        assertThat(counts.get("s3")).isBetween(29, 31);
    }

    @Test
    void leastconnSendsNewConnectionsToTheServerWhoseConnectionsEnded() throws Exception {
        int port = start("balance leastconn", greeters(2));
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            names.add(hold(port));
        }
        assertThat(names).filteredOn("s1"::equals).hasSize(5);
        for (int i = held.size() - 1; i >= 0; i--) {
            if (names.get(i).equals("s1")) {
                held.remove(i).close();
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> proxies.get(0).activeConnections() == 5);
        for (int i = 0; i < 5; i++) {
            assertThat(hold(port)).as("connection %d after s1 emptied", i).isEqualTo("s1");
        }
    }

    @Test
    void roundrobinFollowsWeightsSmoothly() throws Exception {
        int port = start("balance roundrobin", greeters(3), 5, 1, 1);
        Map<String, Integer> counts = new TreeMap<>();
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < 70; i++) {
            String name = once("127.0.0.1", port);
            counts.merge(name, 1, Integer::sum);
            if (i < 7) {
                first.append(name.charAt(1));
            }
        }
        assertThat(counts).containsEntry("s1", 50).containsEntry("s2", 10).containsEntry("s3", 10);
        assertThat(first.toString()).as("smooth: s2 and s3 are not bunched").doesNotContain("23").doesNotContain("32");
    }

    @Test
    void sourceHashIsStickyAcrossRestartsAndProxiesAndMovesOnlyTheRemovedServersClients() throws Exception {
        List<TestServer> servers = greeters(5);
        String balance = "balance source\n    hash-type consistent";
        int port = start(balance, servers);
        Map<String, String> placement = new LinkedHashMap<>();
        for (int i = 10; i < 60; i++) {
            String src = "127.0.0." + i;
            String first = once(src, port);
            placement.put(src, first);
            for (int k = 0; k < 2; k++) {
                assertThat(once(src, port)).as("source %s again", src).isEqualTo(first);
            }
        }
        assertThat(placement.values().stream().distinct().count()).as("50 sources spread").isGreaterThanOrEqualTo(4);

        // restart the proxy: same placement
        proxies.remove(0).close();
        int port2 = start(balance, servers);
        for (Map.Entry<String, String> e : placement.entrySet()) {
            assertThat(once(e.getKey(), port2)).as("after restart, %s", e.getKey()).isEqualTo(e.getValue());
        }

        // a second proxy with the same servers listed in another order: same placement
        List<TestServer> reversed = new ArrayList<>(servers);
        java.util.Collections.reverse(reversed);
        int port3 = start(balance, reversed);
        for (Map.Entry<String, String> e : placement.entrySet()) {
            assertThat(once(e.getKey(), port3)).as("second proxy, %s", e.getKey()).isEqualTo(e.getValue());
        }

        // remove s3 at run time: only the sources that were on s3 move
        proxies.get(0).backend("be").removeServer("s3");
        for (Map.Entry<String, String> e : placement.entrySet()) {
            String now = once(e.getKey(), port2);
            if (e.getValue().equals("s3")) {
                assertThat(now).as("%s moved off s3", e.getKey()).isNotEqualTo("s3");
            } else {
                assertThat(now).as("%s stays", e.getKey()).isEqualTo(e.getValue());
            }
        }
    }
}
