package dev.planetary.proxy.stats.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.stats.StatColumns;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Procs;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stats page, {@code ;csv}, {@code /metrics} and basic auth, asked by curl as an operator would, against a
 * proxy that relayed real connections: one server up, one in maintenance ({@code disabled}), one down (nothing
 * listens, {@code check} fails).
 */
class StatsPageCurlTest {

    static final String PASSWORD = "test-only-password";

    private final Backends backends = new Backends();
    private Proxy proxy;
    private int page;
    private int front;

    @TempDir
    Path dir;

    /** The stats section, with a real password, before a TCP listen of three servers. */
    static String config(int front, int s1, int dead, int page) {
        return """
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            listen pcpu
                bind 127.0.0.1:%d
                balance roundrobin
                server s1 127.0.0.1:%d check inter 200ms
                server s2 127.0.0.1:%d check inter 200ms fall 1
                server s3 127.0.0.1:%d disabled
            listen stats
                bind 127.0.0.1:%d
                mode http
                stats enable
                stats uri /
                stats refresh 10s
                stats auth admin:%s
                stats auth ops:%s-2
                http-request use-service prometheus-exporter if { path /metrics }
            """.formatted(front, s1, dead, s1, page, PASSWORD, PASSWORD);
    }

    @BeforeEach
    void start() throws Exception {
        Backends.TestServer s1 = backends.named("s1");
        front = Ports.pcpu();
        page = Ports.pcpu();
        int dead = Ports.pcpu(); // nothing listens here: s2's checks fail
        proxy = Harness.start(config(front, s1.port(), dead, page));
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() ->
            proxy.backend("pcpu").servers().stream().filter(s -> s.name().equals("s2")).noneMatch(s -> s.up())
                // and s1's first check has completed (its status is INI until then; the page shows L4OK after)
                && "L4OK".equals(proxy.stats().backend("pcpu").serverIfPresent("s1").checkStatus()));
        for (int i = 0; i < 3; i++) {
            try (Socket c = Harness.connect(front)) {
                assertThat(Harness.readLine(c)).isEqualTo("s1");
            }
        }
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
    }

    private Procs.Result curl(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("curl", "-sS", "--max-time", "20"));
        cmd.addAll(List.of(args));
        Procs.Result r = Procs.run(dir, null, Duration.ofSeconds(30), cmd);
        assertThat(r.code()).as("curl %s: %s", List.of(args), r).isZero();
        return r;
    }

    private String url(String path) {
        return "http://127.0.0.1:" + page + path;
    }

    @Test
    void withoutOrWithWrongCredentialsHaproxys401AndRealm() throws Exception {
        String noAuth = curl("-i", url("/")).out();
        assertThat(noAuth).startsWith("HTTP/1.1 401 Unauthorized")
            .containsIgnoringCase("www-authenticate: Basic realm=\"HAProxy Statistics\"")
            .contains("You need a valid user and password to access this content.")
            .doesNotContain("pcpu");
        assertThat(curl("-i", "-u", "admin:wrong-password", url("/")).out()).startsWith("HTTP/1.1 401");
        assertThat(curl("-i", "-u", "ops:" + PASSWORD, url("/")).out()).startsWith("HTTP/1.1 401");
        assertThat(curl("-i", url("/metrics")).out()).as("metrics are behind auth too").startsWith("HTTP/1.1 401");
        assertThat(curl("-i", "-u", "ops:" + PASSWORD + "-2", url("/")).out()).as("a second user")
            .startsWith("HTTP/1.1 200");
    }

    @Test
    void pageHasATablePerProxyWithEveryServerInItsStateClass() throws Exception {
        Procs.Result r = curl("-i", "-u", "admin:" + PASSWORD, url("/"));
        String page = r.out();
        assertThat(page).startsWith("HTTP/1.1 200 OK").containsIgnoringCase("content-type: text/html")
            .containsIgnoringCase("refresh: 10").containsIgnoringCase("cache-control: no-cache")
            .contains("<table class=\"tbl\" id=\"px-pcpu\">")
            .contains("<tr class=\"frontend\" data-type=\"frontend\" data-name=\"FRONTEND\"")
            .contains("<tr class=\"active_up\" data-type=\"server\" data-name=\"s1\"")
            .contains("<tr class=\"active_down\" data-type=\"server\" data-name=\"s2\"")
            .contains("<tr class=\"maintain\" data-type=\"server\" data-name=\"s3\"")
            .contains("<tr class=\"backend\" data-type=\"backend\" data-name=\"BACKEND\"")
            .contains("id=\"genesis\"").doesNotContain("px-stats");
        assertThat(page).containsPattern(">\\d{1,2}s UP</td>").containsPattern("<th>uptime</th><td>0d 0h0[0-2]m\\d\\ds<");
        String head = curl("-I", "-u", "admin:" + PASSWORD, url("/")).out();
        assertThat(head).startsWith("HTTP/1.1 200 OK").containsIgnoringCase("content-length:")
            .doesNotContain("<html");
        String twice = curl("-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects}\n", "-u", "admin:" + PASSWORD,
            url("/"), url("/;csv")).out();
        assertThat(twice.lines().toList()).as("the second request reuses the kept-alive connection")
            .containsExactly("1", "0");
        String post = curl("-i", "-X", "POST", "-u", "admin:" + PASSWORD, url("/")).out();
        assertThat(post).startsWith("HTTP/1.1 405").containsIgnoringCase("allow: GET, HEAD");
    }

    @Test
    void csvBothSpellingsAreShowStatsCsv() throws Exception {
        String csv = curl("-u", "admin:" + PASSWORD, url("/;csv")).out();
        String csv2 = curl("-u", "admin:" + PASSWORD, url("/?stats;csv")).out();
        List<String> lines = csv.lines().toList();
        assertThat(lines.get(0)).isEqualTo(StatColumns.HEADER);
        assertThat(lines).extracting(l -> l.substring(0, l.indexOf(',', l.indexOf(',') + 1)))
            .containsExactly(StatColumns.HEADER.substring(0, StatColumns.HEADER.indexOf(',',
                    StatColumns.HEADER.indexOf(',') + 1)), "pcpu,FRONTEND", "pcpu,s1", "pcpu,s2", "pcpu,s3",
                "pcpu,BACKEND");
        assertThat(csv2.lines().map(l -> l.split(",", -1).length).toList())
            .isEqualTo(csv.lines().map(l -> l.split(",", -1).length).toList());
        String s1 = lines.stream().filter(l -> l.startsWith("pcpu,s1,")).findFirst().orElseThrow();
        String[] f = s1.split(",", -1);
        assertThat(f[StatColumns.index("stot")]).isEqualTo("3");
        assertThat(f[StatColumns.index("status")]).isEqualTo("UP");
        // read on the counters' own clock: seconds since the proxy started, not since some other origin
        assertThat(Long.parseLong(f[StatColumns.index("lastchg")])).isBetween(0L, 120L);
        assertThat(Long.parseLong(f[StatColumns.index("lastsess")])).isBetween(0L, 120L);
        assertThat(lines.stream().filter(l -> l.startsWith("pcpu,s3,")).findFirst().orElseThrow()
            .split(",", -1)[StatColumns.index("status")]).isEqualTo("MAINT");
    }

    @Test
    void metricsInHaproxysNamesPlusPlanetaryHistograms() throws Exception {
        Procs.Result r = curl("-i", "-u", "admin:" + PASSWORD, url("/metrics"));
        String m = r.out();
        assertThat(m).startsWith("HTTP/1.1 200 OK").containsIgnoringCase("content-type: text/plain; version=0.0.4")
            .contains("# TYPE haproxy_frontend_current_sessions gauge\n")
            .contains("haproxy_frontend_sessions_total{proxy=\"pcpu\"} 3\n")
            .contains("haproxy_server_status{proxy=\"pcpu\",server=\"s1\",state=\"UP\"} 1\n")
            .contains("haproxy_server_status{proxy=\"pcpu\",server=\"s2\",state=\"DOWN\"} 1\n")
            .contains("haproxy_server_status{proxy=\"pcpu\",server=\"s3\",state=\"MAINT\"} 1\n")
            .contains("haproxy_server_check_status{proxy=\"pcpu\",server=\"s1\",state=\"L4OK\"} 1\n")
            .contains("# TYPE haproxy_backend_connect_time_average_seconds gauge\n")
            .contains("haproxy_process_nbthread ")
            .contains("# TYPE planetary_backend_connect_time_seconds histogram\n")
            .contains("planetary_backend_connect_time_seconds_bucket{proxy=\"pcpu\",le=\"+Inf\"} 3\n")
            .contains("planetary_backend_connect_time_seconds_count{proxy=\"pcpu\"} 3\n")
            .contains("planetary_backend_session_duration_seconds_count{proxy=\"pcpu\"} 3\n");
        // every sample line is NAME{LABELS} VALUE or NAME VALUE, and every family has HELP and TYPE before it
        String body = m.substring(m.indexOf("\r\n\r\n") + 4);
        java.util.Set<String> typed = new java.util.HashSet<>();
        for (String line : body.lines().toList()) {
            if (line.startsWith("# TYPE ")) {
                typed.add(line.split(" ")[2]);
            } else if (!line.startsWith("# HELP ")) {
                assertThat(line).matches("[a-z_]+(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\\})? (NaN|-?[0-9.]+)");
                String name = line.replaceAll("[{ ].*", "");
                assertThat(typed).as(line).anyMatch(t -> name.equals(t) || name.startsWith(t + "_"));
            }
        }
    }
}
