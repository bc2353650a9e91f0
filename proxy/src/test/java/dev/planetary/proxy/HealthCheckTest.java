package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.core.backend.Server;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Backends.TestServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.time.Duration;

/** Active TCP checks with inter/rise/fall, and live connect failures counting toward fall. */
class HealthCheckTest {

    /** Scheduling slack on a busy 2-core machine, on top of the bound the issue states. */
    private static final long SLACK_MS = 700;

    private final Backends backends = new Backends();
    private Proxy proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
    }

    private String onceName(int port) throws Exception {
        try (Socket s = Harness.connect(port)) {
            return Harness.readLine(s);
        }
    }

    @Test
    void stoppedServerGoesDownWithinFallTimesInterAndComesBackAfterRise() throws Exception {
        TestServer s1 = backends.greeter("s1");
        TestServer s2 = backends.greeter("s2");
        int port = Ports.pcpu();
        int inter = 300;
        int rise = 2;
        int fall = 3;
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 1s
                timeout client 30s
                timeout server 30s
                retries 0
            listen be
                bind 127.0.0.1:%d
                balance roundrobin
                default-server check inter %dms rise %d fall %d
                server s1 127.0.0.1:%d
                server s2 127.0.0.1:%d
            """.formatted(port, inter, rise, fall, s1.port(), s2.port()));
        Server server1 = proxy.backend("be").backend().server("s1").orElseThrow();
        assertThat(server1.up()).isTrue();
        await().atMost(Duration.ofSeconds(5)).until(() -> s1.accepted.get() >= 2); // checks are running

        long t0 = System.nanoTime();
        s1.stop();
        await().atMost(Duration.ofMillis((long) fall * inter + inter + SLACK_MS)).pollInterval(Duration.ofMillis(20))
            .until(() -> !server1.up());
        long downMs = (System.nanoTime() - t0) / 1_000_000;
        assertThat(downMs).as("needs fall consecutive failures").isGreaterThanOrEqualTo((long) (fall - 1) * inter);
        for (int i = 0; i < 10; i++) {
            assertThat(onceName(port)).as("no traffic to a down server").isEqualTo("s2");
        }

        t0 = System.nanoTime();
        s1.restart();
        await().atMost(Duration.ofMillis((long) rise * inter + inter + SLACK_MS)).pollInterval(Duration.ofMillis(20))
            .until(server1::up);
        long upMs = (System.nanoTime() - t0) / 1_000_000;
        assertThat(upMs).as("needs rise consecutive successes").isGreaterThanOrEqualTo((long) (rise - 1) * inter);
        int s1Hits = 0;
        for (int i = 0; i < 10; i++) {
            if (onceName(port).equals("s1")) {
                s1Hits++;
            }
        }
        assertThat(s1Hits).as("traffic back on s1").isEqualTo(5);
    }

    @Test
    void liveConnectFailuresCountTowardFall() throws Exception {
        TestServer s1 = backends.greeter("s1");
        TestServer s2 = backends.greeter("s2");
        int port = Ports.pcpu();
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 1s
                timeout client 30s
                timeout server 30s
                retries 1
                option redispatch
            listen be
                bind 127.0.0.1:%d
                balance roundrobin
                server s1 127.0.0.1:%d check inter 60s fall 2
                server s2 127.0.0.1:%d check inter 60s fall 2
            """.formatted(port, s1.port(), s2.port()));
        Server server1 = proxy.backend("be").backend().server("s1").orElseThrow();
        s1.stop();
        // One check runs within a second of start, the next a minute later: within 3 s at most one of the two
        // failures that take s1 down can come from a check, so live traffic supplied the other.
        for (int i = 0; i < 4; i++) {
            assertThat(onceName(port)).isEqualTo("s2");
        }
        await().atMost(Duration.ofSeconds(3)).until(() -> !server1.up());
        assertThat(proxy.stats().backend("be").serverIfPresent("s1").counters().sum(dev.planetary.proxy.stats.Counters.ECON))
            .as("live connect failures on s1").isGreaterThanOrEqualTo(1);
    }
}
