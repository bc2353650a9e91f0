package dev.planetary.proxy.swarm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.core.backend.Server;
import dev.planetary.proxy.Discovery;
import dev.planetary.proxy.Frontend;
import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Discovery and pinned ports against a scripted Genesis ({@link FakeGenesis}): "VMs" are greeting servers on their
 * own addresses 127.0.0.x, the proxy runs in-process on real sockets. Covers the routing rules of pin-ports (pinned,
 * entrance, unheld, drained, no service, gone in grace, after grace), and that a malformed stream or an unreachable
 * Genesis never costs the proxy its view.
 */
class DiscoveryTest {

    private static final int PORTS = 20;
    private static final long GRACE_MS = 1_500;

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private FakeGenesis genesis;
    private Proxy proxy;
    private int low;
    private VmServer a;
    private VmServer b;
    private VmServer c;

    @BeforeEach
    void setUp() throws Exception {
        low = Ports.pcpuRun(PORTS);
        a = vm("a", "127.0.0.11");
        b = vm("b", "127.0.0.12");
        c = vm("c", "127.0.0.13");
        genesis = FakeGenesis.start(0).plan(FakeGenesis.plan(Map.of("pcpu", new int[] {low, low + PORTS - 1}),
            GRACE_MS));
        closeables.add(genesis);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private VmServer vm(String name, String ip) throws Exception {
        VmServer v = VmServer.start(name, ip);
        closeables.add(v);
        return v;
    }

    /** a and b serve pcpu; c registered without the pcpu service. Ports: a low+1, b low+2, c low+3. */
    private String vmA(String state) {
        return FakeGenesis.vm("vm_00000a", a.ip(), state, Map.of("pcpu", a.port()), Map.of("pcpu", low + 1));
    }

    private String vmB(String state) {
        return FakeGenesis.vm("vm_00000b", b.ip(), state, Map.of("pcpu", b.port()), Map.of("pcpu", low + 2));
    }

    private String vmC() {
        return FakeGenesis.vm("vm_00000c", c.ip(), "active", Map.of("ssh", c.port()), Map.of("pcpu", low + 3));
    }

    private void startProxy(String balance) {
        startProxy(balance, "");
    }

    private void startProxy(String balance, String defaultServer) {
        proxy = Harness.start("""
            global
                maxconn 200
                nbthread 2
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            genesis swarm
                url %s
            backend pcpu
                balance %s
                %s
                discover genesis swarm service pcpu
            frontend pcpu
                bind 127.0.0.1:%d-%d
                default_backend pcpu
                pin-ports pcpu
            """.formatted(genesis.url(), balance, defaultServer, low, low + PORTS - 1));
    }

    private Discovery discovery() {
        return proxy.discovery("swarm");
    }

    private void awaitVersion(long v) {
        await("discovery at version " + v).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
            .until(() -> discovery().version() >= v);
    }

    private static Map<String, Integer> tally(int port, int n) {
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < n; i++) {
            seen.merge(String.valueOf(Routes.who(port)), 1, Integer::sum);
        }
        return seen;
    }

    @Test
    void pinnedPortsReachTheirVmAndEveryOtherPortIsBalanced() {
        genesis.snapshot(() -> FakeGenesis.snapshot(7, vmA("active"), vmB("active"), vmC()));
        startProxy("roundrobin");
        awaitVersion(7);
        Frontend fe = proxy.frontend("pcpu");

        assertThat(tally(low + 1, 6)).containsExactly(Map.entry("a", 6));
        assertThat(tally(low + 2, 6)).containsExactly(Map.entry("b", 6));
        // the entrance port and a port no VM holds: round robin over a and b (c has no pcpu service)
        assertThat(tally(low, 6)).containsOnly(Map.entry("a", 3), Map.entry("b", 3));
        assertThat(tally(low + 9, 4)).containsOnly(Map.entry("a", 2), Map.entry("b", 2));
        assertThat(c.accepted).hasValue(0);
        // c's port: c has no server in this backend, so its port is closed, never balanced to a or b
        long refusedBefore = fe.pinRefusedCount();
        assertThat(Routes.who(low + 3)).isNull();
        assertThat(fe.pinRefusedCount()).isEqualTo(refusedBefore + 1);
        assertThat(proxy.backend("pcpu").servers()).extracting(Server::name)
            .containsExactlyInAnyOrder("vm_00000a", "vm_00000b");
    }

    @Test
    void aDrainingVmsPortClosesWhileItsLiveConnectionsGoOnAndAGoneVmsPortStaysClosedUntilGraceEnds()
        throws Exception {
        genesis.snapshot(() -> FakeGenesis.snapshot(1, vmA("active"), vmB("active")));
        startProxy("leastconn");
        awaitVersion(1);
        Frontend fe = proxy.frontend("pcpu");
        try (Socket live = Harness.connect(low + 1)) {
            assertThat(Harness.readLine(live)).isEqualTo("a");

            genesis.send(FakeGenesis.change(2, "draining", vmA("draining")));
            awaitVersion(2);
            assertThat(Routes.who(low + 1)).as("a drained: its pinned port refuses").isNull();
            assertThat(fe.pinRefusedCount()).isEqualTo(1);
            assertThat(tally(low, 4)).as("the entrance goes to b only").containsExactly(Map.entry("b", 4));
            Harness.write(live, "still here\n");
            assertThat(Harness.readLine(live)).as("a's live connection goes on").isEqualTo("still here");

            genesis.send(FakeGenesis.change(3, "removed", vmA("draining")));
            awaitVersion(3);
            assertThat(proxy.backend("pcpu").servers()).extracting(Server::name).containsExactly("vm_00000b");
            assertThat(Routes.who(low + 1)).as("a gone, its port in grace: closed, not given to b").isNull();
            Harness.write(live, "after removal\n");
            assertThat(Harness.readLine(live)).as("removal does not touch a live connection")
                .isEqualTo("after removal");
        }
        // the grace period ends: the port is balanced like any port no VM holds
        await("grace ends").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
            .until(() -> "b".equals(Routes.who(low + 1)));
    }

    @Test
    void discoveredServersAreHealthCheckedAndADownVmsPinnedPortRefuses() throws Exception {
        // d declares pcpu on a port where nothing listens: its checks fail and it goes down
        int dead;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.14"))) {
            dead = s.getLocalPort();
        }
        String vmD = FakeGenesis.vm("vm_00000d", "127.0.0.14", "active", Map.of("pcpu", dead), Map.of("pcpu", low + 4));
        genesis.snapshot(() -> FakeGenesis.snapshot(3, vmA("active"), vmD));
        startProxy("roundrobin", "default-server check inter 100ms rise 1 fall 1");
        awaitVersion(3);
        Server d = proxy.backend("pcpu").servers().stream().filter(s -> s.name().equals("vm_00000d")).findFirst()
            .orElseThrow();
        await("d's checks fail").atMost(Duration.ofSeconds(10)).until(() -> !d.up());
        long refused = proxy.frontend("pcpu").pinRefusedCount();
        assertThat(Routes.who(low + 4)).as("d is down: its pinned port refuses").isNull();
        assertThat(proxy.frontend("pcpu").pinRefusedCount()).isEqualTo(refused + 1);
        assertThat(tally(low, 4)).as("the entrance skips d").containsExactly(Map.entry("a", 4));
        assertThat(Routes.who(low + 1)).isEqualTo("a");
    }

    @Test
    void aPinnedConnectionToAFullServerIsRefusedAtOnceNeverQueuedOrSentElsewhere() throws Exception {
        genesis.snapshot(() -> FakeGenesis.snapshot(4, vmA("active"), vmB("active")));
        startProxy("roundrobin", "default-server maxconn 1");
        awaitVersion(4);
        Frontend fe = proxy.frontend("pcpu");
        try (Socket holdsA = Harness.connect(low + 1)) {
            assertThat(Harness.readLine(holdsA)).isEqualTo("a");
            long refused = fe.pinRefusedCount();
            // a is at its maxconn: a's port refuses (a balanced connection would wait in the queue instead)
            assertThat(Routes.who(low + 1)).isNull();
            assertThat(fe.pinRefusedCount()).isEqualTo(refused + 1);
            assertThat(proxy.backend("pcpu").queueLength()).isZero();
            assertThat(b.accepted).as("never sent to b").hasValue(0);
            assertThat(Routes.who(low + 2)).as("b's own port is unaffected").isEqualTo("b");
        }
    }

    @Test
    void aMalformedStreamAGapAndAVersionGoingBackCostNothingAndAreAnsweredWithARelist() {
        genesis.snapshot(() -> FakeGenesis.snapshot(10, vmA("active")));
        startProxy("roundrobin");
        awaitVersion(10);
        assertThat(genesis.watchRequests).hasSize(1);

        genesis.send("event: added\ndata: {this is not json\n\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> genesis.watchRequests.size() >= 2);
        assertThat(genesis.watchRequests.get(1)).as("a relist: no since").doesNotContain("since");
        assertThat(Routes.who(low + 1)).isEqualTo("a");

        genesis.send(FakeGenesis.change(15, "added", vmB("active"))); // a gap: 11..14 missing
        await().atMost(Duration.ofSeconds(10)).until(() -> genesis.watchRequests.size() >= 3);
        genesis.send(FakeGenesis.change(4, "removed", vmA("active"))); // backwards
        await().atMost(Duration.ofSeconds(10)).until(() -> genesis.watchRequests.size() >= 4);
        genesis.send("\u0000\u0001garbage without any structure\n\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> genesis.watchRequests.size() >= 5);

        assertThat(discovery().version()).as("nothing of the bad events was applied").isEqualTo(10);
        assertThat(proxy.backend("pcpu").servers()).extracting(Server::name).containsExactly("vm_00000a");
        assertThat(Routes.who(low + 1)).isEqualTo("a");
        assertThat(Routes.who(low + 2)).as("b was never applied: its port is balanced").isEqualTo("a");

        // the relist's snapshot is applied as usual
        genesis.snapshot(() -> FakeGenesis.snapshot(20, vmA("active"), vmB("active")));
        genesis.dropConnections();
        awaitVersion(20);
        assertThat(Routes.who(low + 2)).isEqualTo("b");
    }

    @Test
    void whileGenesisIsUnreachableNothingIsRemovedAndTheStalenessIsReadable() throws Exception {
        genesis.snapshot(() -> FakeGenesis.snapshot(5, vmA("active"), vmB("active")));
        startProxy("roundrobin");
        awaitVersion(5);
        int port = genesis.port();
        genesis.close();
        await("stale").atMost(Duration.ofSeconds(10)).until(() -> discovery().stale());
        assertThat(discovery().staleEpisodes()).isEqualTo(1);
        for (int i = 0; i < 3; i++) {
            assertThat(Routes.who(low + 1)).isEqualTo("a");
            assertThat(Routes.who(low + 2)).isEqualTo("b");
        }
        assertThat(proxy.backend("pcpu").servers()).hasSize(2);

        // Genesis is back, and b left meanwhile: now it is removed
        FakeGenesis back = FakeGenesis.start(port).plan(FakeGenesis.plan(Map.of("pcpu",
            new int[] {low, low + PORTS - 1}), GRACE_MS));
        closeables.add(back);
        back.snapshot(() -> FakeGenesis.snapshot(9, vmA("active")));
        await("fresh").atMost(Duration.ofSeconds(15)).until(() -> !discovery().stale() && discovery().version() == 9);
        await().atMost(Duration.ofSeconds(5))
            .until(() -> proxy.backend("pcpu").servers().stream().map(Server::name).toList(),
                l -> l.equals(List.of("vm_00000a")));
        assertThat(Routes.who(low + 2)).as("b gone, its port in grace").isNull();
        assertThat(Routes.who(low + 1)).isEqualTo("a");
    }

    @Test
    void aProxyStartedAfterARemovalRefusesTheReservedPortUntilGenesisReleasesIt() {
        // b was removed before this proxy started: only Genesis' snapshot (its `grace` list) says that b's port is
        // still reserved; balancing it to a would send a client that asked for b to another host
        String graceB = "{\"id\":\"vm_00000b\",\"instance\":\"vm_00000b-inst\",\"offset\":2,\"ports\":{\"pcpu\":"
            + (low + 2) + "}}";
        genesis.snapshot(() -> FakeGenesis.event(4, "snapshot", "{\"version\":4,\"vms\":[" + vmA("active")
            + "],\"grace\":[" + graceB + "],\"self_preservation\":false}"));
        startProxy("roundrobin");
        awaitVersion(4);
        Frontend fe = proxy.frontend("pcpu");
        long refused = fe.pinRefusedCount();
        assertThat(Routes.who(low + 2)).as("reserved for b: closed, not balanced to a").isNull();
        assertThat(fe.pinRefusedCount()).isEqualTo(refused + 1);
        assertThat(tally(low + 5, 2)).as("a port nobody holds is balanced").containsExactly(Map.entry("a", 2));

        genesis.send(FakeGenesis.event(5, "released", "{\"version\":5,\"type\":\"released\",\"reason\":"
            + "\"grace_expired\",\"reservation\":" + graceB + "}"));
        awaitVersion(5);
        assertThat(Routes.who(low + 2)).as("released: balanced like any free port").isEqualTo("a");
        assertThat(discovery().watch().relists()).isZero();
    }
}
