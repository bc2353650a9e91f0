package dev.planetary.proxy.stats.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.proxy.stats.StatsSnapshot;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Per-thread recorders merged on read into cumulative Prometheus histograms (counts never go back). */
class LatencyHistogramsTest {

    private static String metrics(LatencyHistograms h, List<GenesisStatus> genesis) {
        return PrometheusExporter.render(new StatsSnapshot(List.of(), List.of(), 0), genesis, h);
    }

    @Test
    void recordsFromSeveralThreadsAddUpAndStayCumulative() throws Exception {
        LatencyHistograms h = new LatencyHistograms(List.of("pcpu", "ws"));
        LatencyHistograms.Backend b = h.backend("pcpu");
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 1000; i++) {
                    b.connected(TimeUnit.MICROSECONDS.toNanos(800)); // 0.8 ms: in the 0.001 bucket
                    b.sessionEnded(TimeUnit.SECONDS.toNanos(30));      // 30 s: in the 60 bucket
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(30));
        }
        String m = metrics(h, List.of());
        assertThat(m).contains("# TYPE planetary_backend_connect_time_seconds histogram\n")
            .contains("planetary_backend_connect_time_seconds_bucket{proxy=\"pcpu\",le=\"0.0005\"} 0\n")
            .contains("planetary_backend_connect_time_seconds_bucket{proxy=\"pcpu\",le=\"0.001\"} 4000\n")
            .contains("planetary_backend_connect_time_seconds_bucket{proxy=\"pcpu\",le=\"+Inf\"} 4000\n")
            .contains("planetary_backend_connect_time_seconds_count{proxy=\"pcpu\"} 4000\n")
            .contains("planetary_backend_connect_time_seconds_count{proxy=\"ws\"} 0\n")
            .contains("planetary_backend_session_duration_seconds_bucket{proxy=\"pcpu\",le=\"10\"} 0\n")
            .contains("planetary_backend_session_duration_seconds_bucket{proxy=\"pcpu\",le=\"60\"} 4000\n");
        assertThat(m).containsPattern("planetary_backend_connect_time_seconds_sum\\{proxy=\"pcpu\"\\} 3\\.2\\d+\n");
        b.connected(TimeUnit.SECONDS.toNanos(20)); // beyond the last bound: only +Inf
        String again = metrics(h, List.of());
        assertThat(again).contains("planetary_backend_connect_time_seconds_bucket{proxy=\"pcpu\",le=\"10\"} 4000\n")
            .contains("planetary_backend_connect_time_seconds_bucket{proxy=\"pcpu\",le=\"+Inf\"} 4001\n");
    }

    @Test
    void discardRecordsNothingAndGenesisGauges() {
        LatencyHistograms.DISCARD.connected(1_000_000);
        assertThat(LatencyHistograms.DISCARD.connect.read().getTotalCount()).isZero();
        String m = metrics(null, List.of(new GenesisStatus("swarm", List.of("http://127.0.0.1:9000"), false, true,
            42, 7, 2)));
        assertThat(m).contains("planetary_genesis_view_version{genesis=\"swarm\"} 42\n")
            .contains("planetary_genesis_stale{genesis=\"swarm\"} 1\n")
            .contains("planetary_genesis_stale_episodes_total{genesis=\"swarm\"} 2\n")
            .contains("planetary_genesis_vms{genesis=\"swarm\"} 7\n")
            .doesNotContain("planetary_backend");
        assertThat(PrometheusExporter.escape("a\"b\\c\nd")).isEqualTo("a\\\"b\\\\c\\nd");
        assertThat(PrometheusExporter.serverState("UP 1/3")).isEqualTo("UP");
        assertThat(PrometheusExporter.serverState("DOWN 1/2")).isEqualTo("DOWN");
        assertThat(PrometheusExporter.serverState("no check")).isEqualTo("UP");
        assertThat(PrometheusExporter.serverState("DRAIN")).isEqualTo("DRAIN");
    }
}
