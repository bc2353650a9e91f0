package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Backends.TestServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * maxconn at every level (global, frontend, server), the backend queue and its timeout, no usable server; on native
 * epoll and on the NIO fallback (listeners paused and resumed by the AcceptGate on both).
 */
@ParameterizedClass(name = "{0}")
@EnumSource(value = Transport.class, names = {"EPOLL", "NIO"})
class LimitsTest {

    @Parameter
    Transport transport;

    private final Backends backends = new Backends();
    private final List<Socket> held = new ArrayList<>();
    private Proxy proxy;

    @AfterEach
    void tearDown() throws Exception {
        for (Socket s : held) {
            s.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
    }

    private Socket open(int port) throws Exception {
        Socket s = Harness.connect(port);
        held.add(s);
        return s;
    }

    /** Greeted within the timeout? (The greeter backend writes its name as soon as a connection reaches it.) */
    private static boolean greeted(Socket s, int withinMs) throws Exception {
        s.setSoTimeout(withinMs);
        try {
            return Harness.readLine(s) != null;
        } catch (SocketTimeoutException e) {
            return false;
        } finally {
            s.setSoTimeout(10_000);
        }
    }

    private static void assertClosedByProxy(Socket s) throws Exception {
        s.setSoTimeout(10_000);
        assertThat(s.getInputStream().read()).as("closed by the proxy").isEqualTo(-1);
    }

    @Test
    void globalMaxconnStopsAcceptingAndResumesBelow() throws Exception {
        TestServer s1 = backends.greeter("s1");
        int port = Ports.pcpuRun(2);
        proxy = Harness.start("""
            global
                maxconn 2
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            listen a
                bind 127.0.0.1:%d
                server s1 127.0.0.1:%d
            listen b
                bind 127.0.0.1:%d
                server s1 127.0.0.1:%d
            """.formatted(port, s1.port(), port + 1, s1.port()), transport);
        Socket a1 = open(port);
        Socket b1 = open(port + 1);
        assertThat(greeted(a1, 5000)).isTrue();
        assertThat(greeted(b1, 5000)).isTrue();
        Socket waiting = open(port + 1);
        assertThat(greeted(waiting, 700)).as("third connection waits: global maxconn 2").isFalse();
        assertThat(proxy.activeConnections()).isEqualTo(2);
        a1.close();
        assertThat(greeted(waiting, 5000)).as("served once a slot is free").isTrue();
    }

    @Test
    void frontendMaxconnLimitsOnlyItsFrontend() throws Exception {
        TestServer s1 = backends.greeter("s1");
        int port = Ports.pcpuRun(2);
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            frontend small
                bind 127.0.0.1:%d
                maxconn 1
                default_backend be
            frontend big
                bind 127.0.0.1:%d
                default_backend be
            backend be
                server s1 127.0.0.1:%d
            """.formatted(port, port + 1, s1.port()), transport);
        Socket first = open(port);
        assertThat(greeted(first, 5000)).isTrue();
        Socket second = open(port);
        assertThat(greeted(second, 700)).as("frontend 'small' is full").isFalse();
        assertThat(greeted(open(port + 1), 5000)).as("frontend 'big' still accepts").isTrue();
        first.close();
        assertThat(greeted(second, 5000)).isTrue();
        assertThat(proxy.frontend("small").activeConnections()).isEqualTo(1);
    }

    @Test
    void serverMaxconnSkipsFullServersThenQueuesUntilASlotFrees() throws Exception {
        TestServer s1 = backends.greeter("s1");
        TestServer s2 = backends.greeter("s2");
        int port = Ports.pcpu();
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 2s
                timeout queue 20s
                timeout client 30s
                timeout server 30s
            listen be
                bind 127.0.0.1:%d
                balance roundrobin
                server s1 127.0.0.1:%d maxconn 1
                server s2 127.0.0.1:%d maxconn 2
            """.formatted(port, s1.port(), s2.port()), transport);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Socket s = open(port);
            names.add(Harness.readLine(s));
        }
        assertThat(names).containsExactlyInAnyOrder("s1", "s2", "s2");
        Socket queued = open(port);
        assertThat(greeted(queued, 700)).as("all servers full: waits in the queue").isFalse();
        assertThat(proxy.backend("be").queueLength()).isEqualTo(1);
        held.get(0).close();
        assertThat(greeted(queued, 5000)).as("dequeued when a slot frees").isTrue();
        assertThat(proxy.backend("be").queueLength()).isZero();
        ProxyBackend be = proxy.backend("be");
        assertThat(be.backend().server("s1").orElseThrow().active()).isLessThanOrEqualTo(1);
        assertThat(be.backend().server("s2").orElseThrow().active()).isLessThanOrEqualTo(2);
    }

    @Test
    void queuedConnectionIsClosedAfterTimeoutQueue() throws Exception {
        TestServer s1 = backends.greeter("s1");
        int port = Ports.pcpu();
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 2s
                timeout queue 400ms
                timeout client 30s
                timeout server 30s
            listen be
                bind 127.0.0.1:%d
                server s1 127.0.0.1:%d maxconn 1
            """.formatted(port, s1.port()), transport);
        assertThat(greeted(open(port), 5000)).isTrue();
        Socket queued = open(port);
        long t0 = System.nanoTime();
        assertClosedByProxy(queued);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(ms).as("closed after timeout queue").isBetween(300L, 5_000L);
        assertThat(proxy.backend("be").queueTimeoutCount()).isEqualTo(1);
    }

    @Test
    void noUsableServerClosesTheClientAtOnceAndCountsIt() throws Exception {
        TestServer s1 = backends.greeter("s1");
        int port = Ports.pcpu();
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            listen be
                bind 127.0.0.1:%d
                server s1 127.0.0.1:%d disabled
            """.formatted(port, s1.port()), transport);
        Socket s = open(port);
        long t0 = System.nanoTime();
        assertClosedByProxy(s);
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(2_000);
        assertThat(proxy.backend("be").noServerCount()).isEqualTo(1);
        assertThat(s1.accepted.get()).isZero();
    }

    @Test
    void backupServerTakesTrafficOnlyWhenNoActiveServerIsUp() throws Exception {
        TestServer s1 = backends.greeter("s1");
        TestServer b1 = backends.greeter("b1");
        int port = Ports.pcpu();
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            listen be
                bind 127.0.0.1:%d
                server s1 127.0.0.1:%d
                server b1 127.0.0.1:%d backup
            """.formatted(port, s1.port(), b1.port()), transport);
        for (int i = 0; i < 5; i++) {
            try (Socket s = Harness.connect(port)) {
                assertThat(Harness.readLine(s)).isEqualTo("s1");
            }
        }
        proxy.backend("be").maint("s1");
        for (int i = 0; i < 5; i++) {
            try (Socket s = Harness.connect(port)) {
                assertThat(Harness.readLine(s)).isEqualTo("b1");
            }
        }
        proxy.backend("be").ready("s1");
        try (Socket s = Harness.connect(port)) {
            assertThat(Harness.readLine(s)).isEqualTo("s1");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.activeConnections() == 0);
        assertThatThrownBy(() -> proxy.backend("be").maint("nope")).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("no server named 'nope'");
    }
}
