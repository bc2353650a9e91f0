package dev.planetary.proxy.reload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.ConfigParser;
import dev.planetary.proxy.Frontend;
import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What a reload changes in place besides binds and servers: a port that moves to another frontend keeps its socket
 * and sends new connections to the new frontend's backend while a connection accepted before stays on the old one;
 * a kept frontend keeps its counters; weights and {@code disabled} apply to the same server objects; a frontend's
 * maxconn changes in place.
 */
class ReloadInPlaceTest {

    @TempDir
    Path dir;

    private final Backends backends = new Backends();
    private Proxy proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
    }

    private static String config(int port, int a, int b, boolean moved, String aOptions, int maxconn) {
        return """
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            frontend one
                bind 127.0.0.1:%d
            %s    default_backend ba
                maxconn %d
            frontend two
                bind 127.0.0.1:%d
            %s    default_backend bb
            backend ba
                server a 127.0.0.1:%d %s
                server a2 127.0.0.1:%d
            backend bb
                server b 127.0.0.1:%d
            """.formatted(port, moved ? "" : "    bind 127.0.0.1:" + (port + 1) + "\n", maxconn, port + 2,
            moved ? "    bind 127.0.0.1:" + (port + 1) + "\n" : "", a, aOptions, a, b);
    }

    private void reload(Path cfg, String text) throws Exception {
        Files.writeString(cfg, text);
        Reloader.Result r = new Reloader(List.of(cfg), proxy).reload();
        assertThat(r.applied()).as("%s", r.lines()).isTrue();
    }

    @Test
    void aMovedPortKeepsItsSocketAndLiveConnectionsStayWhereTheyWere() throws Exception {
        int port = Ports.pcpuRun(3);
        int a = backends.named("A").port();
        int b = backends.named("B").port();
        Path cfg = dir.resolve("m.cfg");
        Files.writeString(cfg, config(port, a, b, false, "weight 10", 100));
        proxy = Proxy.start(ConfigParser.parse(List.of(cfg)).config());
        Frontend one = proxy.frontend("one");
        Server serverA = proxy.backend("ba").backend().server("a").orElseThrow();

        try (Socket before = Harness.connect(port + 1)) {
            assertThat(Harness.readLine(before)).isEqualTo("A");
            long acceptedBefore = one.acceptedCount();

            reload(cfg, config(port, a, b, true, "weight 20 disabled", 1));

            try (Socket after = Harness.connect(port + 1)) {
                assertThat(Harness.readLine(after)).as("the port now belongs to frontend two").isEqualTo("B");
            }
            Harness.write(before, "still here\n");
            assertThat(Harness.readLine(before)).as("accepted before: stays on A").isEqualTo("still here");
            assertThat(proxy.frontend("one")).isSameAs(one);
            assertThat(one.acceptedCount()).as("counters kept").isEqualTo(acceptedBefore);
            assertThat(proxy.listenerCount()).isEqualTo(3);
            assertThat(proxy.backend("ba").backend().server("a")).containsSame(serverA);
            assertThat(serverA.weight()).isEqualTo(20);
            assertThat(serverA.admin()).isEqualTo(Server.Admin.MAINT);
            assertThat(serverA.active()).as("its live connection counted on the same object").isEqualTo(1);
        }
        // frontend one's maxconn is 1 now (was 100), changed in place: a second connection waits for the slot.
        // The second connects only once the first holds the slot: two connects at once may land on the listeners of
        // two event loops (SO_REUSEPORT) and be accepted in either order (FrontendLimitReleaseTest).
        try (Socket first = Harness.connect(port)) {
            assertThat(Harness.readLine(first)).as("served once the slot of the connection before is free")
                .isEqualTo("A");
            try (Socket second = Harness.connect(port)) {
                second.setSoTimeout(300);
                assertThatThrownBy(() -> second.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
                first.close();
                second.setSoTimeout(10_000);
                assertThat(Harness.readLine(second)).isEqualTo("A");
            }
        }
    }

    @Test
    void sectionsAddedByAReloadGetCountersAndNumbersOfTheirOwnAndKeptOnesKeepTheirs() throws Exception {
        int port = Ports.pcpuRun(3);
        int a = backends.named("A").port();
        int b = backends.named("B").port();
        Path cfg = dir.resolve("s.cfg");
        Files.writeString(cfg, config(port, a, b, false, "", 100));
        proxy = Proxy.start(ConfigParser.parse(List.of(cfg)).config());
        try (Socket s = Harness.connect(port)) {
            assertThat(Harness.readLine(s)).isEqualTo("A");
        }
        var oneStats = proxy.stats().frontend("one");
        int maxIid = Math.max(proxy.stats().frontend("two").iid(), proxy.stats().backend("bb").iid());
        String more = config(port, a, b, false, "", 100).replace("frontend two\n", """
            frontend three
                bind 127.0.0.1:%d
                default_backend bc
            backend bc
                server c 127.0.0.1:%d
            frontend two
            """.formatted(Ports.pcpu(), b));
        reload(cfg, more);
        int three = proxy.frontend("three").config().binds().get(0).lowPort();

        try (Socket s = Harness.connect(three)) {
            assertThat(Harness.readLine(s)).as("a new frontend and backend take connections").isEqualTo("B");
        }
        assertThat(proxy.stats().frontend("one")).as("a kept frontend keeps its counters").isSameAs(oneStats);
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
            .until(() -> proxy.stats().frontend("three").counters().sum(dev.planetary.proxy.stats.Counters.STOT)
                == 1);
        assertThat(proxy.stats().frontend("three").iid()).as("numbered after every number given")
            .isGreaterThan(maxIid);
        assertThat(proxy.stats().backend("bc").iid()).isGreaterThan(maxIid)
            .isNotEqualTo(proxy.stats().frontend("three").iid());

        reload(cfg, config(port, a, b, false, "", 100));
        assertThat(proxy.stats().frontend("three")).as("removed with its section").isNull();
        assertThat(proxy.stats().backend("bc")).isNull();
    }
}
