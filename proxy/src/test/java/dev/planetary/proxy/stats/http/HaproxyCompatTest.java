package dev.planetary.proxy.stats.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Procs;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our page against real HAProxy 2.6 run with the same configuration (Debian's haproxy has the prometheus-exporter
 * service built in): the {@code ;csv} header line is HAProxy's, and every {@code haproxy_*} metric we export exists in
 * HAProxy's {@code /metrics} with the same type and the same label names.
 */
class HaproxyCompatTest {

    private static final Path HAPROXY = Path.of("/usr/sbin/haproxy");

    @TempDir
    Path dir;

    private String curl(String url) throws Exception {
        Procs.Result r = Procs.run(dir, null, Duration.ofSeconds(30), List.of("curl", "-sS", "--max-time", "20",
            "-u", "admin:" + StatsPageCurlTest.PASSWORD, url));
        assertThat(r.code()).as("curl %s: %s", url, r).isZero();
        return r.out();
    }

    /** Family name to "type label,label" from a Prometheus text body. */
    private static Map<String, String> families(String body) {
        Map<String, String> types = new TreeMap<>();
        Map<String, String> out = new TreeMap<>();
        for (String line : body.lines().toList()) {
            if (line.startsWith("# TYPE ")) {
                String[] p = line.split(" ");
                types.put(p[2], p[3]);
            } else if (!line.startsWith("#") && !line.isBlank()) {
                String name = line.replaceAll("[{ ].*", "");
                TreeSet<String> labels = new TreeSet<>();
                int open = line.indexOf('{');
                if (open >= 0) {
                    for (String kv : line.substring(open + 1, line.indexOf('}')).split(",")) {
                        labels.add(kv.substring(0, kv.indexOf('=')));
                    }
                }
                out.putIfAbsent(name, types.get(name) + " " + String.join(",", labels));
            }
        }
        return out;
    }

    @Test
    void csvHeaderAndMetricNamesTypesAndLabelsAreHaproxys() throws Exception {
        assertThat(HAPROXY).as("Debian's haproxy package (.ci/run installs it)").exists();
        try (Backends backends = new Backends()) {
            Backends.TestServer s1 = backends.named("s1");
            int dead = Ports.pcpu();
            int ourFront = Ports.pcpu();
            int ourPage = Ports.pcpu();
            int theirFront = Ports.pcpu();
            int theirPage = Ports.pcpu();
            Path cfg = dir.resolve("haproxy.cfg");
            Files.writeString(cfg, StatsPageCurlTest.config(theirFront, s1.port(), dead, theirPage));
            Procs.Running haproxy = Procs.start(dir, null, List.of(HAPROXY.toString(), "-db", "-f", cfg.toString()));
            Proxy proxy = Harness.start(StatsPageCurlTest.config(ourFront, s1.port(), dead, ourPage));
            try {
                for (int front : new int[] {ourFront, theirFront}) {
                    await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
                        try (Socket c = Harness.connect(front)) {
                            return "s1".equals(Harness.readLine(c));
                        }
                    });
                }
                String theirCsv = curl("http://127.0.0.1:" + theirPage + "/;csv");
                String ourCsv = curl("http://127.0.0.1:" + ourPage + "/;csv");
                assertThat(ourCsv.lines().findFirst()).isEqualTo(theirCsv.lines().findFirst());

                Map<String, String> theirs = families(curl("http://127.0.0.1:" + theirPage + "/metrics"));
                Map<String, String> ours = families(curl("http://127.0.0.1:" + ourPage + "/metrics"));
                assertThat(theirs).as("HAProxy's exporter answered").containsKey("haproxy_server_status");
                Map<String, String> ourHaproxy = new TreeMap<>(ours);
                ourHaproxy.keySet().removeIf(n -> !n.startsWith("haproxy_"));
                assertThat(ourHaproxy).hasSizeGreaterThan(100);
                for (Map.Entry<String, String> e : ourHaproxy.entrySet()) {
                    assertThat(theirs).as("HAProxy 2.6 exports %s as we do", e.getKey())
                        .containsEntry(e.getKey(), e.getValue());
                }
                assertThat(ours).containsKeys("haproxy_frontend_current_sessions", "haproxy_backend_status",
                    "haproxy_server_status", "haproxy_backend_connect_time_average_seconds",
                    "haproxy_process_current_connections");
            } finally {
                proxy.close();
                Procs.kill(haproxy.process());
            }
        }
    }
}
