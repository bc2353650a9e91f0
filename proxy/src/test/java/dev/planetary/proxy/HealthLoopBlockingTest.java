package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.core.backend.Server;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Backends.TestServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A health transition must not make the health-check loop wait for a backend's control work: a consistent-hash
 * rebuild takes tens of milliseconds (seconds for a full build of a large set), and every other server's checks
 * would wait behind it.
 */
class HealthLoopBlockingTest {

    private final Backends backends = new Backends();
    private Proxy proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
    }

    /**
     * Deterministic stand-in for a long rebuild: the test holds what a rebuild of backend {@code a} holds (the
     * backend's and the runtime API's monitors; a control owner busy with it) while a1 goes down. Backend b's checks
     * must keep running meanwhile, and a1's transition must still be applied afterwards.
     */
    @Test
    void checksOfOtherServersGoOnWhileABackendIsBusy() {
        TestServer a1 = backends.greeter("a1");
        TestServer a2 = backends.greeter("a2");
        TestServer b1 = backends.greeter("b1");
        int port = Ports.pcpu();
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 1s
                timeout client 30s
                timeout server 30s
            backend a
                balance source
                hash-type consistent
                server a1 127.0.0.1:%d check inter 60s fall 1
                server a2 127.0.0.1:%d check inter 60s
            listen b
                bind 127.0.0.1:%d
                server b1 127.0.0.1:%d check inter 100ms
            """.formatted(a1.port(), a2.port(), port, b1.port()));
        ProxyBackend a = proxy.backend("a");
        Server server1 = a.backend().server("a1").orElseThrow();
        await().atMost(Duration.ofSeconds(10)).until(() -> b1.accepted.get() >= 2); // checks are running
        synchronized (a.backend()) {
            synchronized (a) {
                proxy.health().liveFailure(server1); // fall 1: a1 goes down now
                int before = b1.accepted.get();
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                    .until(() -> b1.accepted.get() >= before + 3);
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !server1.up());
        assertThat(a.backend().anyUsable()).isTrue();
    }

    /**
     * The same with the owner itself busy (a rebuild of a 10,000-server table takes it that long): the control agent
     * is held on a latch while a1 goes down; b's checks go on, and a1's transition is applied once the agent is free.
     */
    @Test
    void checksGoOnWhileTheBackendOwnerIsBusy() throws Exception {
        TestServer a1 = backends.greeter("a1");
        TestServer b1 = backends.greeter("b1");
        int port = Ports.pcpu();
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 1s
                timeout client 30s
                timeout server 30s
            backend a
                server a1 127.0.0.1:%d check inter 60s fall 1
            listen b
                bind 127.0.0.1:%d
                server b1 127.0.0.1:%d check inter 100ms
            """.formatted(a1.port(), port, b1.port()));
        ProxyBackend a = proxy.backend("a");
        Server server1 = a.backend().server("a1").orElseThrow();
        await().atMost(Duration.ofSeconds(10)).until(() -> b1.accepted.get() >= 2);
        java.util.concurrent.CountDownLatch busy = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CompletableFuture<Void> job = a.control().run(() -> {
            held.countDown();
            try {
                busy.await(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            assertThat(held.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            proxy.health().liveFailure(server1);
            int before = b1.accepted.get();
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> b1.accepted.get() >= before + 3);
            assertThat(server1.up()).as("not applied while the owner is busy").isTrue();
        } finally {
            busy.countDown();
        }
        job.get(10, java.util.concurrent.TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(10)).until(() -> !server1.up());
        assertThat(a.backend().anyUsable()).isFalse();
    }
}
