package dev.planetary.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The stats page section ({@code mode http} + {@code stats ...}) and the connection log ({@code log}, {@code option tcplog}). */
class StatsLogConfigTest {

    private static ConfigResult parse(String text) {
        return ConfigParser.parse("t.cfg", text, Map.<String, String>of()::get);
    }

    private static ProxyConfig valid(String text) {
        ConfigResult r = parse(text);
        assertThat(r.errors()).isEmpty();
        return r.config();
    }

    private static List<String> errors(String text) {
        return parse(text).errors();
    }

    private static final String BASE = """
        defaults
            mode tcp
            timeout connect 5s
            timeout client 1m
            timeout server 1m

        listen pcpu
            bind 127.0.0.1:10000
            server s1 127.0.0.1:7000
        """;

    @Test
    void theIssuesStatsSectionIsAStatsPageNotAFrontend() {
        ProxyConfig c = valid(BASE + """
            listen stats
                bind 127.0.0.1:8404
                mode http
                stats enable
                stats uri /
                stats refresh 10s
                stats auth admin:s3cret-pass
                stats auth ops:another-pass
                stats realm "Planetary swarm"
                stats hide-version
                http-request use-service prometheus-exporter if { path /metrics }
            """);
        assertThat(c.frontends()).extracting(FrontendConfig::name).containsExactly("pcpu");
        assertThat(c.backends()).extracting(BackendConfig::name).containsExactly("pcpu");
        assertThat(c.statsPages()).singleElement().satisfies(p -> {
            assertThat(p.name()).isEqualTo("stats");
            assertThat(p.binds()).singleElement().hasToString("127.0.0.1:8404");
            assertThat(p.uri()).isEqualTo("/");
            assertThat(p.refreshMs()).isEqualTo(10_000);
            assertThat(p.users()).extracting(StatsPageConfig.StatsUser::user).containsExactly("admin", "ops");
            assertThat(p.users().get(0).password()).isEqualTo("s3cret-pass");
            assertThat(p.users().toString()).doesNotContain("s3cret");
            assertThat(p.realm()).isEqualTo("Planetary swarm");
            assertThat(p.hideVersion()).isTrue();
            assertThat(p.prometheusPath()).isEqualTo("/metrics");
            assertThat(p.clientTimeoutMs()).isEqualTo(60_000);
        });
        assertThat(c.listenerCount()).isEqualTo(1);
    }

    @Test
    void loopbackPageNeedsNoAuthAndDefaultsAsHaproxy() {
        StatsPageConfig p = valid(BASE + """
            listen stats
                bind 127.0.0.1:8404
                mode http
                stats enable
            """).statsPages().get(0);
        assertThat(p.users()).isEmpty();
        assertThat(p.uri()).isEqualTo("/haproxy?stats");
        assertThat(p.realm()).isEqualTo("HAProxy Statistics");
        assertThat(p.prometheusPath()).isNull();
        assertThat(valid(BASE + "listen s\n bind [::1]:8404\n mode http\n stats uri /\n").statsPages()).hasSize(1);
    }

    @Test
    void nonLoopbackPageWithoutAuthIsRefused() {
        assertThat(errors(BASE + "listen stats\n bind 0.0.0.0:8404\n mode http\n stats enable\n"))
            .singleElement().asString()
            .startsWith("parsing [t.cfg:11] : listen 'stats' : the stats page binds 0.0.0.0:8404, which is not a"
                + " loopback address: add 'stats auth <user>:<password>'");
        assertThat(errors(BASE + "listen stats\n bind :8404\n mode http\n stats enable\n")).hasSize(1);
        assertThat(errors(BASE + "listen stats\n bind 10.1.2.3:8404\n mode http\n stats enable\n")).hasSize(1);
        assertThat(errors(BASE + "listen stats\n bind 10.1.2.3:8404\n mode http\n stats auth a:longenough\n"))
            .isEmpty();
    }

    @Test
    void placeholderAndShortPasswordsAreRefused() {
        assertThat(errors(BASE + "listen stats\n bind 127.0.0.1:8404\n mode http\n stats auth admin:CHANGE_ME\n"))
            .singleElement().asString().startsWith("parsing [t.cfg:13] : 'stats auth admin:CHANGE_ME' : 'CHANGE_ME'"
                + " is the documentation's placeholder, not a password");
        assertThat(errors(BASE + "listen stats\n bind 127.0.0.1:8404\n mode http\n stats auth admin:short\n"))
            .singleElement().asString().contains("at least 8 are required").doesNotContain("short");
        assertThat(errors(BASE + "listen stats\n bind 127.0.0.1:8404\n mode http\n stats auth admin\n"))
            .singleElement().asString().contains("expects <user>:<password>");
        assertThat(errors(BASE + "listen s\n bind 127.0.0.1:8404\n mode http\n stats auth a:12345678\n"
            + " stats auth a:87654321\n")).singleElement().asString().contains("user 'a' is already declared");
    }

    @Test
    void modeHttpAnywhereElseIsStillAClearError() {
        assertThat(errors(BASE + "listen web\n bind 127.0.0.1:8080\n mode http\n server a 127.0.0.1:80\n"))
            .singleElement().asString().isEqualTo("parsing [t.cfg:12] : listen 'web' : 'mode http' is only"
                + " supported for a stats page: add 'stats enable' (and 'stats uri /'), or use 'mode tcp';"
                + " Planetary is a TCP (layer 4) proxy");
        assertThat(errors("defaults\n mode http\n")).singleElement().asString()
            .isEqualTo("parsing [t.cfg:2] : 'mode http' is only supported in a stats page section ('listen' with"
                + " 'stats enable'): Planetary is a TCP (layer 4) proxy");
        assertThat(errors("backend b\n mode http\n")).hasSize(1);
        assertThat(errors(BASE + "listen s\n bind 127.0.0.1:8404\n stats enable\n")).singleElement().asString()
            .contains("'stats' and 'http-request' need 'mode http'");
        assertThat(errors(BASE + "listen s\n bind 127.0.0.1:8404\n mode http\n stats enable\n"
            + " server a 127.0.0.1:80\n")).singleElement().asString().contains("takes no 'server'");
        assertThat(errors(BASE + "listen s\n mode http\n stats enable\n")).singleElement().asString()
            .contains("needs a 'bind' line");
        assertThat(errors(BASE + "frontend f\n bind 127.0.0.1:9\n default_backend s\n"
            + "listen s\n bind 127.0.0.1:8404\n mode http\n stats enable\n")).singleElement().asString()
            .contains("default_backend 's' is a stats page");
    }

    @Test
    void statsLinesHaveClearErrors() {
        String page = BASE + "listen s\n bind 127.0.0.1:8404\n mode http\n";
        assertThat(errors(page + " stats admin if TRUE\n")).singleElement().asString()
            .contains("'stats admin' is a HAProxy keyword that Planetary does not support");
        assertThat(errors(page + " stats frobnicate\n")).singleElement().asString()
            .contains("'stats' : unknown keyword 'frobnicate'");
        assertThat(errors(page + " stats refresh soon\n")).singleElement().asString()
            .contains("'stats refresh' expects a time, got 'soon'");
        assertThat(errors(page + " stats uri metrics\n")).singleElement().asString()
            .contains("expects a path starting with '/'");
        assertThat(errors(page + " stats enable\n http-request deny\n")).singleElement().asString()
            .contains("Planetary supports only 'http-request use-service prometheus-exporter");
        assertThat(errors(page + " stats enable\n http-request use-service prometheus-exporter if { path /m\n"))
            .singleElement().asString().contains("missing '}'");
        assertThat(errors("defaults\n stats enable\n")).singleElement().asString()
            .contains("not allowed in 'defaults' section");
        assertThat(errors(BASE + "listen s\n bind 127.0.0.1:10000\n mode http\n stats enable\n"))
            .singleElement().asString().contains("overlaps bind 127.0.0.1:10000");
        assertThat(valid(page + " stats enable\n http-request use-service prometheus-exporter\n")
            .statsPages().get(0).prometheusPath()).as("every path").isEmpty();
    }

    @Test
    void logGlobalAndTcplogAsHaproxy() {
        ProxyConfig c = valid("""
            global
                log stdout format raw local0 info
                log 127.0.0.1:5514 len 2048 format rfc5424 local1 notice
            defaults
                mode tcp
                log global
                option tcplog
                timeout connect 5s
                timeout client 1m
                timeout server 1m
            listen a
                bind 127.0.0.1:10000
                server s1 127.0.0.1:7000
            listen b
                bind 127.0.0.1:10001
                no log
                log udp@[::1] local7
                server s1 127.0.0.1:7000
            listen c
                bind 127.0.0.1:10002
                no option tcplog
                server s1 127.0.0.1:7000
            """);
        FrontendLogConfig a = c.log("a");
        assertThat(a.enabled()).isTrue();
        assertThat(a.targets()).hasSize(2);
        LogTarget out = a.targets().get(0);
        assertThat(out.kind()).isEqualTo(LogTarget.Kind.STDOUT);
        assertThat(out.format()).isEqualTo(LogTarget.Format.RAW);
        assertThat(out.facility()).isEqualTo(16);
        assertThat(out.level()).isEqualTo(6);
        LogTarget udp = a.targets().get(1);
        assertThat(udp.kind()).isEqualTo(LogTarget.Kind.UDP);
        assertThat(udp.host()).isEqualTo("127.0.0.1");
        assertThat(udp.port()).isEqualTo(5514);
        assertThat(udp.maxLength()).isEqualTo(2048);
        assertThat(udp.format()).isEqualTo(LogTarget.Format.RFC5424);
        assertThat(udp.level()).isEqualTo(5);
        LogTarget six = c.log("b").targets().get(0);
        assertThat(c.log("b").targets()).hasSize(1);
        assertThat(six.host()).isEqualTo("::1");
        assertThat(six.port()).isEqualTo(514);
        assertThat(six.format()).isEqualTo(LogTarget.Format.RFC3164);
        assertThat(c.log("c").enabled()).isFalse();
        assertThat(valid(BASE).log("pcpu").enabled()).as("off unless configured").isFalse();
    }

    @Test
    void logErrors() {
        assertThat(errors("global\n log /dev/log local0\n")).singleElement().asString()
            .contains("not to a unix socket");
        assertThat(errors("global\n log stdout local9\n")).singleElement().asString()
            .contains("unknown facility 'local9'");
        assertThat(errors("global\n log stdout format short local0\n")).singleElement().asString()
            .contains("format 'short' is a HAProxy log format that Planetary does not support");
        assertThat(errors("global\n log stdout\n")).singleElement().asString().contains("missing facility");
        assertThat(errors("global\n log logs.example.com:514 local0\n")).singleElement().asString()
            .contains("is not an IP address");
        assertThat(errors("global\n log stdout local0 loud\n")).singleElement().asString()
            .contains("unknown optional log level 'loud'");
        assertThat(errors("global\n log global\n")).hasSize(1);
        assertThat(errors("backend b\n option tcplog\n")).singleElement().asString()
            .contains("has no frontend capability");
        assertThat(parse(BASE.replace("mode tcp", "mode tcp\n    log stdout local0")).warnings())
            .anySatisfy(w -> assertThat(w).contains("has 'log' targets but no 'option tcplog'"));
    }
}
