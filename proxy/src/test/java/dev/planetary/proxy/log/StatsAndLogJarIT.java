package dev.planetary.proxy.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import java.net.ServerSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaded jar as a user runs it: the connection log on standard output ({@code log stdout format raw}), the stats
 * page and /metrics answered by curl, and the refusals: a stats page on a public address without {@code stats auth}
 * fails {@code -c}, a stats port already taken fails the start, each with exit 1 and a message.
 */
class StatsAndLogJarIT {

    @TempDir
    Path dir;

    private static List<String> jar(String... args) {
        String java = Launcher.java();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-jar", Launcher.builtJar().toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static String config(int front, int server, int page) {
        return """
            global
                log stdout format raw local0
            defaults
                mode tcp
                log global
                option tcplog
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            listen pcpu
                bind 127.0.0.1:%d
                server s1 127.0.0.1:%d
            listen stats
                bind 127.0.0.1:%d
                mode http
                stats enable
                stats uri /
                http-request use-service prometheus-exporter if { path /metrics }
            """.formatted(front, server, page);
    }

    @Test
    void logOnStdoutAndPageAnsweredByTheJar() throws Exception {
        try (Backends backends = new Backends()) {
            Backends.TestServer s1 = backends.named("s1");
            int front = Ports.pcpu();
            int page = Ports.pcpu();
            Path cfg = dir.resolve("p.cfg");
            Files.writeString(cfg, config(front, s1.port(), page));
            Procs.Running p = Procs.start(dir, null, jar("-f", cfg.toString()));
            try {
                await().atMost(Duration.ofSeconds(60)).ignoreExceptions().failFast(() -> !p.process().isAlive())
                    .until(() -> {
                        try (Socket c = Harness.connect(front)) {
                            return "s1".equals(Harness.readLine(c));
                        }
                    });
                await().atMost(Duration.ofSeconds(20)).until(() -> p.stdout().contains(" pcpu pcpu/s1 "));
                assertThat(p.stdout().lines().filter(l -> l.contains(" pcpu pcpu/s1 ")).findFirst().orElseThrow())
                    .matches("127\\.0\\.0\\.1:\\d+ \\[\\d\\d/[A-Z][a-z]{2}/\\d{4}:\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\] pcpu"
                        + " pcpu/s1 0/\\d+/\\d+ 3 -- \\d+/\\d+/\\d+/\\d+/0 0/0");
                Procs.Result csv = Procs.run(dir, null, Duration.ofSeconds(30), List.of("curl", "-sS", "--max-time",
                    "20", "http://127.0.0.1:" + page + "/;csv"));
                assertThat(csv.out()).as("%s", csv).startsWith("# pxname,svname,qcur,").contains("\npcpu,s1,");
                Procs.Result metrics = Procs.run(dir, null, Duration.ofSeconds(30), List.of("curl", "-sS",
                    "--max-time", "20", "http://127.0.0.1:" + page + "/metrics"));
                assertThat(metrics.out()).as("%s", metrics)
                    .contains("haproxy_server_status{proxy=\"pcpu\",server=\"s1\",state=\"UP\"} 1");
            } finally {
                Procs.kill(p.process());
            }
        }
    }

    @Test
    void publicPageWithoutAuthFailsTheCheck() throws Exception {
        Path cfg = dir.resolve("p.cfg");
        Files.writeString(cfg, config(Ports.pcpu(), Ports.pcpu(), 8404).replace("bind 127.0.0.1:8404",
            "bind 0.0.0.0:8404"));
        Procs.Result r = Procs.run(dir, null, Duration.ofSeconds(60), jar("-c", "-f", cfg.toString()));
        assertThat(r.code()).as("%s", r).isEqualTo(1);
        assertThat(r.stderr()).contains("[ALERT]").contains("the stats page binds 0.0.0.0:8404, which is not a"
            + " loopback address: add 'stats auth <user>:<password>'").doesNotContain("\tat ");
    }

    @Test
    void busyStatsPortFailsTheStart() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", Ports.pcpu()));
            Path cfg = dir.resolve("p.cfg");
            Files.writeString(cfg, config(Ports.pcpu(), Ports.pcpu(), taken.getLocalPort()));
            Procs.Result r = Procs.run(dir, null, Duration.ofSeconds(60), jar("-f", cfg.toString()));
            assertThat(r.code()).as("%s", r).isEqualTo(1);
            assertThat(r.stderr()).contains("cannot bind stats page 'stats'").doesNotContain("\tat ");
        }
    }
}
