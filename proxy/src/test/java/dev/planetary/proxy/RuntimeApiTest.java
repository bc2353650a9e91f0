package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.core.config.ServerConfig;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Backends.TestServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Changing a backend at run time through the Java API, with live connections that must not notice. */
class RuntimeApiTest {

    private final Backends backends = new Backends();
    private Proxy proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
    }

    private static ServerConfig server(TestServer s, int weight) {
        return new ServerConfig(s.name(), "127.0.0.1", s.port(), false, 2000, 2, 3, weight, 0, false, false,
            new dev.planetary.core.config.Origin("api", 0));
    }

    private int start(TestServer first) {
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
                server %s 127.0.0.1:%d
            """.formatted(port, first.name(), first.port()));
        return port;
    }

    /** Names of the servers that greet {@code n} fresh connections (named backends echo after their name). */
    private Set<String> reached(int port, int n) throws Exception {
        Set<String> names = new HashSet<>();
        for (int i = 0; i < n; i++) {
            try (Socket s = Harness.connect(port)) {
                names.add(Harness.readLine(s));
            }
        }
        return names;
    }

    private static void assertEchoes(Socket live, String text) throws Exception {
        Harness.write(live, text + "\n");
        assertThat(Harness.readLine(live)).isEqualTo(text);
    }

    @Test
    void addDrainRemoveAndSwapWithoutTouchingLiveConnections() throws Exception {
        TestServer s1 = backends.named("s1");
        TestServer s2 = backends.named("s2");
        TestServer s3 = backends.named("s3");
        int port = start(s1);
        ProxyBackend be = proxy.backend("be");

        Socket live = Harness.connect(port);
        assertThat(Harness.readLine(live)).isEqualTo("s1");

        be.addServer(server(s2, 1));
        assertThat(reached(port, 6)).containsExactlyInAnyOrder("s1", "s2");

        be.drain("s1");
        assertThat(reached(port, 6)).containsExactly("s2");
        assertEchoes(live, "still on s1 while draining");

        be.ready("s1");
        be.setWeight("s1", 0);
        assertThat(reached(port, 4)).containsExactly("s2");
        be.setWeight("s1", 1);
        assertThat(reached(port, 6)).containsExactlyInAnyOrder("s1", "s2");

        be.removeServer("s1");
        assertThat(reached(port, 6)).containsExactly("s2");
        assertEchoes(live, "still on s1 after removal");

        be.replaceServers(List.of(server(s2, 1), server(s3, 3)));
        assertThat(reached(port, 8)).containsExactlyInAnyOrder("s2", "s3");
        assertEchoes(live, "still on s1 after the swap");
        assertThat(s1.live.get()).isEqualTo(1);

        live.close();
        await().atMost(Duration.ofSeconds(5)).until(() -> s1.live.get() == 0 && proxy.activeConnections() == 0);
    }

    @Test
    void swapKeepsServersThatStayWithTheirLiveCounts() throws Exception {
        TestServer s1 = backends.named("s1");
        TestServer s2 = backends.named("s2");
        int port = start(s1);
        ProxyBackend be = proxy.backend("be");
        try (Socket live = Harness.connect(port)) {
            assertThat(Harness.readLine(live)).isEqualTo("s1");
            var before = be.backend().server("s1").orElseThrow();
            be.replaceServers(List.of(server(s1, 2), server(s2, 1)));
            var after = be.backend().server("s1").orElseThrow();
            assertThat(after).isSameAs(before);
            assertThat(after.active()).isEqualTo(1);
            assertThat(after.weight()).isEqualTo(2);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> be.backend().server("s1").orElseThrow().active() == 0);
    }
}
