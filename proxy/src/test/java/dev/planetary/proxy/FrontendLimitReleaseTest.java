package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;

/**
 * A full frontend's freed slot reaches a connection that arrived while it was full, on every round: its listeners
 * were paused (the connections wait in the kernel), the holder's close resumes them, one of the waiting connections
 * gets the slot and the other gets it when that one closes. With two event loops each port has one listening socket
 * per loop (SO_REUSEPORT), so the two waiting connections may sit on different sockets and be accepted in either
 * order: the test asserts that one is served and the other waits, never which one (a test that expects the earlier
 * connect to win fails about one round in four here).
 */
class FrontendLimitReleaseTest {

    /** Rounds of the interleaving; each costs about half a second. */
    private static final int ROUNDS = 12;

    private final Backends backends = new Backends();
    private Proxy proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
    }

    @Test
    void aSlotFreedWhileTwoConnectionsWaitServesOneThenTheOther() throws Exception {
        int a = backends.named("A").port();
        int port = Ports.pcpu();
        proxy = Harness.start("""
            global
                nbthread 2
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            frontend one
                bind 127.0.0.1:%d
                maxconn 1
                default_backend ba
            backend ba
                server a 127.0.0.1:%d
            """.formatted(port, a));
        Frontend one = proxy.frontend("one");
        for (int round = 0; round < ROUNDS; round++) {
            try (Socket holder = Harness.connect(port)) {
                assertThat(Harness.readLine(holder)).isEqualTo("A");
                try (Socket x = Harness.connect(port); Socket y = Harness.connect(port)) {
                    assertThat(served(x, 200) || served(y, 200)).as("round %d: the frontend is full", round)
                        .isFalse();
                    holder.close();
                    Socket winner = firstServed(x, y, 10_000);
                    assertThat(winner).as("round %d: the freed slot serves a waiting connection", round).isNotNull();
                    Socket other = winner == x ? y : x;
                    assertThat(served(other, 300)).as("round %d: the other waits for the slot", round).isFalse();
                    winner.close();
                    assertThat(served(other, 10_000)).as("round %d: then the other is served", round).isTrue();
                }
            }
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
            assertThat(one.activeConnections()).as("every slot given back").isZero());
    }

    /** Read the backend's greeting within the time? */
    private static boolean served(Socket s, int withinMs) throws Exception {
        s.setSoTimeout(withinMs);
        try {
            return "A".equals(Harness.readLine(s));
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    /** Whichever of the two is greeted first (polled in turns, bounded by the time), or null. */
    private static Socket firstServed(Socket x, Socket y, long withinMs) throws Exception {
        long deadline = System.nanoTime() + withinMs * 1_000_000;
        while (System.nanoTime() < deadline) {
            if (served(x, 50)) {
                return x;
            }
            if (served(y, 50)) {
                return y;
            }
        }
        return null;
    }
}
