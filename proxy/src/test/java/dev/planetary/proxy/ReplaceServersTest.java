package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.DiscoverConfig;
import dev.planetary.core.config.Origin;
import dev.planetary.core.config.ServerOptions;
import dev.planetary.core.config.ServerConfig;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Backends.TestServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import java.net.Socket;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The registry's call: one whole view, with the VMs it drains, as one snapshot; live connections untouched. */
class ReplaceServersTest {

    private final Backends backends = new Backends();
    private Proxy proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
    }

    private static ServerConfig server(TestServer s) {
        return new ServerConfig(s.name(), "127.0.0.1", s.port(), false, 2000, 2, 3, 1, 0, false, false,
            new Origin("registry", 0));
    }

    private Set<String> reached(int port, int n) throws Exception {
        Set<String> names = new HashSet<>();
        for (int i = 0; i < n; i++) {
            try (Socket s = Harness.connect(port)) {
                names.add(Harness.readLine(s));
            }
        }
        return names;
    }

    @Test
    void aViewWithADrainSetIsOneSnapshotAndDrainingServersKeepTheirConnections() throws Exception {
        TestServer s1 = backends.named("s1");
        TestServer s2 = backends.named("s2");
        TestServer s3 = backends.named("s3");
        int port = Ports.pcpu();
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 1s
                timeout client 30s
                timeout server 30s
            listen be
                bind 127.0.0.1:%d
                balance roundrobin
                server s1 127.0.0.1:%d
            """.formatted(port, s1.port()));
        ProxyBackend be = proxy.backend("be");
        Server first = be.backend().server("s1").orElseThrow();
        Socket live = Harness.connect(port);
        assertThat(Harness.readLine(live)).isEqualTo("s1");

        long version = be.backend().snapshot().version();
        List<ServerConfig> view = List.of(server(s1), server(s2), server(s3));
        be.replaceServers(view, Set.of("s1"));
        assertThat(be.backend().snapshot().version()).as("one snapshot for the whole view").isEqualTo(version + 1);
        assertThat(be.backend().server("s1").orElseThrow()).isSameAs(first);
        assertThat(first.discoveryDrain()).isTrue();
        assertThat(first.effectiveAdmin()).isEqualTo(Server.Admin.DRAIN);
        assertThat(first.active()).isEqualTo(1);
        assertThat(reached(port, 6)).containsExactlyInAnyOrder("s2", "s3");
        Harness.write(live, "still here\n");
        assertThat(Harness.readLine(live)).isEqualTo("still here");

        be.replaceServers(view, Set.of()); // s1 leaves the drain set
        assertThat(first.discoveryDrain()).isFalse();
        assertThat(first.effectiveAdmin()).isEqualTo(Server.Admin.READY);
        assertThat(reached(port, 9)).containsExactlyInAnyOrder("s1", "s2", "s3");

        be.maint("s2");
        be.replaceServers(view, Set.of("s2"));
        be.replaceServers(view, Set.of());
        assertThat(be.backend().server("s2").orElseThrow().admin()).as("maintenance is the operator's")
            .isEqualTo(Server.Admin.MAINT);

        // the operator drains s3 through the runtime API; the registry drains it too, then stops: it stays drained
        be.drain("s3");
        be.replaceServers(view, Set.of("s3"));
        be.replaceServers(view, Set.of());
        Server s3Server = be.backend().server("s3").orElseThrow();
        assertThat(s3Server.admin()).as("the operator's drain outlives the registry's").isEqualTo(Server.Admin.DRAIN);
        assertThat(reached(port, 4)).containsOnly("s1");
        // and the registry drains s1; the operator's ready does not end that
        be.replaceServers(view, Set.of("s1"));
        be.ready("s1");
        be.ready("s2");
        assertThat(be.backend().server("s1").orElseThrow().discoveryDrain()).isTrue();
        assertThat(reached(port, 4)).containsOnly("s2");

        live.close();
        await().atMost(Duration.ofSeconds(5)).until(() -> first.active() == 0);
    }

    @Test
    void runtimeErrorsReachTheCallerUnchanged() {
        TestServer s1 = backends.named("s1");
        int port = Ports.pcpu();
        proxy = Harness.start("""
            listen be
                mode tcp
                bind 127.0.0.1:%d
                server s1 127.0.0.1:%d
            """.formatted(port, s1.port()));
        ProxyBackend be = proxy.backend("be");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> be.removeServer("nope"))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("backend 'be' has no server named 'nope'");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> be.addServer(server(s1)))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("backend 'be' already has a server named 's1'");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> be.setWeight("s1", 300))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("weight must be 0..256: 300");
        proxy.close();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> be.drain("s1"))
            .isInstanceOf(IllegalStateException.class)
            .hasMessage("the proxy is closed");
        proxy = null;
    }

    /**
     * A relist that describes the servers the backend already has keeps every one (same object: live connections,
     * counters, state) and publishes nothing; a server at a host name is kept while the name resolves to its
     * address; only a server that changed is made anew.
     */
    @Test
    void anUnchangedViewKeepsEveryServerAndPublishesNothing() throws Exception {
        TestServer s1 = backends.named("s1");
        TestServer s2 = backends.named("s2");
        int port = Ports.pcpu();
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 1s
                timeout client 30s
                timeout server 30s
            listen be
                bind 127.0.0.1:%d
                balance roundrobin
                server s1 127.0.0.1:%d
            """.formatted(port, s1.port()));
        ProxyBackend be = proxy.backend("be");
        be.replaceServers(List.of(server(s1), server(s2)), Set.of());
        Server one = be.backend().server("s1").orElseThrow();
        Server two = be.backend().server("s2").orElseThrow();
        Socket live = Harness.connect(port);
        Harness.readLine(live);
        long version = be.backend().snapshot().version();

        be.replaceServers(List.of(server(s1), server(s2)), Set.of());
        ServerConfig byName = new ServerConfig("s2", "localhost", s2.port(), false, 2000, 2, 3, 1, 0, false, false,
            new Origin("registry", 0));
        be.replaceServers(List.of(server(s1), byName), Set.of());
        assertThat(be.backend().snapshot().version()).as("nothing changed").isEqualTo(version);
        assertThat(be.backend().server("s1").orElseThrow()).isSameAs(one);
        assertThat(be.backend().server("s2").orElseThrow()).isSameAs(two);
        assertThat(one.active() + two.active()).as("the live connection still counted").isEqualTo(1);

        ServerConfig moved = new ServerConfig("s2", "127.0.0.1", s1.port(), false, 2000, 2, 3, 1, 0, false, false,
            new Origin("registry", 0));
        be.replaceServers(List.of(server(s1), moved), Set.of());
        assertThat(be.backend().snapshot().version()).isEqualTo(version + 1);
        assertThat(be.backend().server("s1").orElseThrow()).isSameAs(one);
        assertThat(be.backend().server("s2").orElseThrow()).isNotSameAs(two)
            .extracting(s -> s.address().getPort()).isEqualTo(s1.port());
        live.close();
    }

    /**
     * Discovery hands the address objects of its VMs' ips to every backend's relist, so that one VM's servers in
     * several backends share one InetAddress (one object fewer per server for a relist to keep); they route as
     * before, a later relist without the map keeps them, and the configured weight (iweight) is the new server's.
     */
    @Test
    void discoveredServersMakeTheirAddressOnFirstUseRouteAndAreKeptByALaterRelist() throws Exception {
        TestServer s1 = backends.named("s1");
        TestServer s2 = backends.named("s2");
        int port = Ports.pcpu();
        int port2 = Ports.pcpu();
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 1s
                timeout client 30s
                timeout server 30s
            listen be
                bind 127.0.0.1:%d
                balance roundrobin
            listen be2
                bind 127.0.0.1:%d
                balance roundrobin
            """.formatted(port, port2));
        ProxyBackend be = proxy.backend("be");
        ProxyBackend be2 = proxy.backend("be2");
        DiscoverConfig discover = new DiscoverConfig("swarm", "svc",
            new ServerOptions(false, 2000, 2, 3, 7, 0, false, false), new Origin("registry", 0));
        be.relist(List.of(be.wanted(server(s1)), be.discovered(discover, "s2", "127.0.0.1", s2.port())), Set.of());
        be2.relist(List.of(be2.discovered(discover, "s2", "127.0.0.1", s2.port())), Set.of());
        Server one = be.backend().server("s1").orElseThrow();
        Server two = be.backend().server("s2").orElseThrow();
        Server other = be2.backend().server("s2").orElseThrow();
        for (Server s : List.of(one, two, other)) {
            assertThat(addressMade(s)).as("%s: no address object before its first connection", s).isFalse();
            assertThat(s.host()).isEqualTo("127.0.0.1");
            assertThat(addressMade(s)).isFalse();
        }
        assertThat(two.port()).isEqualTo(s2.port());
        assertThat(be.initialWeight("s2")).as("the discover line's weight").isEqualTo(7);
        assertThat(be.initialWeight("s1")).isEqualTo(1);
        assertThat(be.initialWeight("nobody")).isZero();
        assertThat(reached(port, 8)).containsExactlyInAnyOrder("s1", "s2");
        assertThat(reached(port2, 2)).containsExactly("s2");
        assertThat(addressMade(other)).as("made by its first connection").isTrue();
        assertThat(other.address()).isEqualTo(new java.net.InetSocketAddress("127.0.0.1", s2.port()));

        long version = be.backend().snapshot().version();
        be.relist(List.of(be.wanted(server(s1)), be.discovered(discover, "s2", "127.0.0.1", s2.port())), Set.of());
        assertThat(be.backend().snapshot().version()).as("nothing changed").isEqualTo(version);
        assertThat(be.backend().server("s1").orElseThrow()).isSameAs(one);
        assertThat(be.backend().server("s2").orElseThrow()).isSameAs(two);
        be.relist(List.of(be.wanted(server(s1)), be.discovered(discover, "s2", "127.0.0.1", s1.port())), Set.of());
        assertThat(be.backend().server("s2").orElseThrow()).as("another port: another server").isNotSameAs(two);
        assertThat(reached(port, 8)).containsOnly("s1");
        be.relist(List.of(be.wanted(server(s1))), Set.of());
        assertThat(be.initialWeight("s2")).as("gone with its stats").isZero();
    }

    /**
     * A VM at an IPv6 address is kept by a relist as an IPv4 one is: compared by its literal text, not by an address
     * object made for the comparison and thrown away (review finding 4: one throwaway server per kept IPv6 VM per
     * relist), and its own address object is still made only by its first connection.
     */
    @Test
    void aDiscoveredIpv6ServerIsKeptByARelistThatAddsAnother() throws Exception {
        int port = Ports.pcpu();
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 1s
                timeout client 30s
                timeout server 30s
            listen be
                bind 127.0.0.1:%d
                balance roundrobin
            """.formatted(port));
        ProxyBackend be = proxy.backend("be");
        DiscoverConfig discover = new DiscoverConfig("swarm", "svc",
            new ServerOptions(false, 2000, 2, 3, 1, 0, false, false), new Origin("registry", 0));
        be.relist(List.of(be.discovered(discover, "v6", "::1", 7000)), Set.of());
        Server v6 = be.backend().server("v6").orElseThrow();
        assertThat(v6.literal()).isEqualTo("::1");
        be.relist(List.of(be.discovered(discover, "v6", "::1", 7000), be.discovered(discover, "v4", "127.0.0.2", 7000)),
            Set.of());
        assertThat(be.servers()).hasSize(2);
        assertThat(be.backend().server("v6").orElseThrow()).as("kept").isSameAs(v6);
        assertThat(addressMade(v6)).as("no address object made to compare it").isFalse();
        assertThat(v6.address()).isEqualTo(new java.net.InetSocketAddress("::1", 7000));
    }

    /** Whether the server's address object exists yet (read without making it). */
    private static boolean addressMade(Server s) throws ReflectiveOperationException {
        java.lang.reflect.Field f = Server.class.getDeclaredField("address");
        f.setAccessible(true);
        return f.get(s) != null;
    }
}
