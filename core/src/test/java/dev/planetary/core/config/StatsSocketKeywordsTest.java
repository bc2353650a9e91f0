package dev.planetary.core.config;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code stats socket} and {@code stats timeout} in the global section. */
class StatsSocketKeywordsTest {

    private static final String REST = """
        defaults
            mode tcp
            timeout connect 1s
            timeout client 1s
            timeout server 1s
        listen x
            bind 127.0.0.1:7000
            server s 127.0.0.1:7001
        """;

    private static ConfigResult parse(String global) {
        return ConfigParser.parse("t.cfg", "global\n" + global + REST, Map.<String, String>of()::get);
    }

    @Test
    void unixAndTcpSocketsWithModeLevelAndTimeout() {
        ConfigResult r = parse("""
                stats socket /run/p/admin.sock mode 660 level admin
                stats socket ipv4@127.0.0.1:9999 level user
                stats socket ipv4@:9998 level operator
                stats socket /tmp/ro.sock
                stats timeout 2m
            """);
        assertThat(r.errors()).isEmpty();
        List<StatsSocketConfig> s = r.config().global().statsSockets();
        assertThat(s).hasSize(4);
        assertThat(s.get(0)).extracting(StatsSocketConfig::path, StatsSocketConfig::mode, StatsSocketConfig::level)
            .containsExactly("/run/p/admin.sock", 0660, StatsSocketConfig.Level.ADMIN);
        assertThat(s.get(1)).extracting(StatsSocketConfig::host, StatsSocketConfig::port, StatsSocketConfig::level)
            .containsExactly("127.0.0.1", 9999, StatsSocketConfig.Level.USER);
        assertThat(s.get(2).host()).as("no address: loopback, never every interface").isEqualTo("127.0.0.1");
        assertThat(s.get(3)).extracting(StatsSocketConfig::mode, StatsSocketConfig::level)
            .containsExactly(-1, StatsSocketConfig.Level.ADMIN);
        assertThat(r.config().global().statsTimeoutMs()).isEqualTo(120_000);
    }

    @Test
    void noSocketByDefault() {
        ConfigResult r = parse("    maxconn 10\n");
        assertThat(r.config().global().statsSockets()).isEmpty();
        assertThat(r.config().global().statsTimeoutMs()).isEqualTo(StatsSocketKeywords.DEFAULT_TIMEOUT_MS);
    }

    @Test
    void badLinesNameFileLineAndWhy() {
        assertThat(parse("    stats socket /x level root\n").errors()).singleElement().asString()
            .contains("parsing [t.cfg:2] : 'stats socket' option 'level' expects 'user', 'operator' or 'admin'");
        assertThat(parse("    stats socket /x mode 999\n").errors()).singleElement().asString()
            .contains("[t.cfg:2]").contains("octal mode");
        assertThat(parse("    stats socket ipv4@127.0.0.1:0\n").errors()).singleElement().asString()
            .contains("port 1-65535");
        assertThat(parse("    stats socket\n").errors()).singleElement().asString()
            .contains("expects a path or an address");
        assertThat(parse("    stats timeout soon\n").errors()).singleElement().asString()
            .contains("'stats timeout' in 'global' section expects a timeout value, got 'soon'");
        assertThat(parse("    stats enable\n").errors()).singleElement().asString()
            .contains("expects 'socket' or 'timeout'");
        assertThat(parse("    stats socket /x expose-fd listeners\n").errors()).singleElement().asString()
            .contains("option 'expose-fd' is not supported");
    }
}
