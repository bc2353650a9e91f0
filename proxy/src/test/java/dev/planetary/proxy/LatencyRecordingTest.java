package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.ConfigParser;
import dev.planetary.core.config.ConfigResult;
import dev.planetary.proxy.stats.http.LatencyHistograms;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;

/**
 * The planetary_ latency histograms are recorded only where something reads them: a stats page's {@code /metrics}
 * (issue 15: each record is two histogram updates per connection). Without a page every frontend records into
 * {@link LatencyHistograms#DISCARD}, also after a reload (which cannot open a page); with one, each frontend records
 * into its default backend's histograms, which {@code /metrics} shows ({@code StatsPageCurlTest} checks the figures).
 */
class LatencyRecordingTest {

    private final Backends backends = new Backends();
    private Proxy proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
    }

    private static String config(int front, int server, String extra) {
        return """
            global
                nbthread 1
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            frontend fe
                bind 127.0.0.1:%d
                default_backend be
            backend be
                server s1 127.0.0.1:%d
            """.formatted(front, server) + extra;
    }

    private static String statsPage(int port) {
        return """
            listen stats
                bind 127.0.0.1:%d
                mode http
                stats enable
                stats uri /
                http-request use-service prometheus-exporter if { path /metrics }
            """.formatted(port);
    }

    private static void oneConnection(int port) throws Exception {
        try (Socket c = Harness.connect(port)) {
            assertThat(Harness.readLine(c)).isEqualTo("s1");
        }
    }

    @Test
    void withoutAStatsPageNothingIsRecordedNotEvenAfterAReloadThatAddsOne() throws Exception {
        int front = Ports.pcpu();
        int s1 = backends.named("s1").port();
        proxy = Harness.start(config(front, s1, ""));
        oneConnection(front);
        assertThat(proxy.statsHttp()).isNull();
        assertThat(proxy.frontend("fe").latency).isSameAs(LatencyHistograms.DISCARD);
        assertThat(proxy.histograms().backend("be")).as("no histograms made for nobody").isNull();

        // a reload cannot open a stats page: the new frontend, and the kept one, still record nothing
        int front2 = Ports.pcpu();
        ConfigResult next = ConfigParser.parse("test.cfg", config(front, s1, """
            frontend fe2
                bind 127.0.0.1:%d
                default_backend be
            """.formatted(front2) + statsPage(Ports.pcpu())));
        assertThat(next.errors()).isEmpty();
        proxy.reload(next.config());
        oneConnection(front2);
        assertThat(proxy.statsHttp()).as("a reload opens no page").isNull();
        assertThat(proxy.frontend("fe").latency).isSameAs(LatencyHistograms.DISCARD);
        assertThat(proxy.frontend("fe2").latency).isSameAs(LatencyHistograms.DISCARD);
    }

    @Test
    void withAStatsPageEachFrontendRecordsIntoItsBackendsHistograms() throws Exception {
        int front = Ports.pcpu();
        int s1 = backends.named("s1").port();
        int page = Ports.pcpu();
        proxy = Harness.start(config(front, s1, statsPage(page)));
        oneConnection(front);
        assertThat(proxy.statsHttp()).isNotNull();
        LatencyHistograms.Backend be = proxy.histograms().backend("be");
        assertThat(be).isNotNull().isNotSameAs(LatencyHistograms.DISCARD);
        assertThat(proxy.frontend("fe").latency).isSameAs(be);

        int front2 = Ports.pcpu();
        ConfigResult next = ConfigParser.parse("test.cfg", config(front, s1, """
            frontend fe2
                bind 127.0.0.1:%d
                default_backend be
            """.formatted(front2) + statsPage(page)));
        assertThat(next.errors()).isEmpty();
        proxy.reload(next.config());
        assertThat(proxy.frontend("fe2").latency).as("a reload's new frontend").isSameAs(be);
    }
}
