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
        // frontend one's maxconn is 1 now (was 100), changed in place: a second connection waits for the slot
        try (Socket first = Harness.connect(port); Socket second = Harness.connect(port)) {
            assertThat(Harness.readLine(first)).isEqualTo("A");
            second.setSoTimeout(300);
            assertThatThrownBy(() -> second.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            first.close();
            second.setSoTimeout(5_000);
            assertThat(Harness.readLine(second)).isEqualTo("A");
        }
    }
}
