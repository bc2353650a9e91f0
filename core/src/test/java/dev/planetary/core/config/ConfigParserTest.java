package dev.planetary.core.config;

import dev.planetary.core.ports.PortKind;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigParserTest {

    private static final Map<String, String> ENV = Map.of("PORT", "8080", "ADDR", "127.0.0.9");

    private static final String MISSING_TIMEOUTS = ". While not properly invalid, you will certainly encounter"
            + " various problems with such a configuration. To fix this, please ensure that all following timeouts"
            + " are set to a non-zero value: 'client', 'connect', 'server'.";

    /** Parses text that must be valid and returns its config. */
    private static ProxyConfig valid(String text) {
        ConfigResult r = ConfigParser.parse("t.cfg", text, ENV::get);
        assertThat(r.errors()).isEmpty();
        assertThat(r.ok()).isTrue();
        return r.config();
    }

    private static FrontendConfig frontend(ProxyConfig c, String name) {
        return c.frontends().stream().filter(f -> f.name().equals(name)).findFirst().orElseThrow();
    }

    private static BackendConfig backend(ProxyConfig c, String name) {
        return c.backend(name).orElseThrow();
    }

    // ------------------------------------------------------------------------------------ shipped config

    @Test
    void shippedSwarmConfigIsValidWithoutWarningsAndTakesEveryServerFromGenesis() {
        ConfigResult r = ConfigParser.parse(List.of(RepoPaths.shippedConfig()));

        assertThat(r.errors()).isEmpty();
        assertThat(r.warnings()).isEmpty();
        ProxyConfig c = r.config();
        assertThat(c.listenerCount()).isEqualTo(22_001);
        assertThat(c.genesis()).singleElement().satisfies(g -> {
            assertThat(g.name()).isEqualTo("swarm");
            assertThat(g.urls()).containsExactly(java.net.URI.create("http://127.0.0.1:9000"));
        });
        assertThat(c.frontends()).extracting(FrontendConfig::name, f -> f.binds().toString(),
                        f -> f.pinPorts() == null ? null : f.pinPorts().kind())
                .containsExactly(
                        tuple("pcpu", "[127.0.0.1:10000-19999]", PortKind.PCPU),
                        tuple("pfsshfs", "[127.0.0.1:20000-29999]", PortKind.PFSSHFS),
                        tuple("transfer", "[127.0.0.1:30000-31999]", PortKind.TRANSFER),
                        tuple("ws", "[127.0.0.1:32000]", null));
        assertThat(c.backends()).extracting(BackendConfig::name, BackendConfig::balance, BackendConfig::hashType,
                        b -> b.discover().service())
                .containsExactly(
                        tuple("pcpu", BalanceAlgorithm.LEASTCONN, HashType.MAP_BASED, "pcpu"),
                        tuple("pfsshfs", BalanceAlgorithm.SOURCE, HashType.CONSISTENT, "ssh"),
                        tuple("transfer", BalanceAlgorithm.LEASTCONN, HashType.MAP_BASED, "transfer"),
                        tuple("ws", BalanceAlgorithm.LEASTCONN, HashType.MAP_BASED, "ws"));
        for (BackendConfig b : c.backends()) {
            assertThat(b.servers()).isEmpty();
            assertThat(b.discover().genesis()).isEqualTo("swarm");
            assertThat(b.discover().options().check()).isTrue();
            assertThat(b.connectTimeoutMs()).isPositive();
            assertThat(b.serverTimeoutMs()).isPositive();
        }
        assertThat(c.global().maxconn()).isPositive();
        assertThat(c.global().hardStopAfterMs()).isPositive();
    }

    @Test
    void shippedStaticConfigIsValidWithoutWarningsAndBindsTheWholePortPlan() {
        ConfigResult r = ConfigParser.parse(List.of(RepoPaths.staticConfig()));

        assertThat(r.errors()).isEmpty();
        assertThat(r.warnings()).isEmpty();
        ProxyConfig c = r.config();
        // 10,000 + 10,000 + 2,000 + 1. (The port-plan note says "22,002", but its own table sums to 22,001.)
        assertThat(c.listenerCount()).isEqualTo(22_001);
        assertThat(c.frontends()).extracting(FrontendConfig::name, f -> f.binds().toString(),
                        FrontendConfig::defaultBackend)
                .containsExactly(
                        tuple("pcpu", "[127.0.0.1:10000-19999]", "pcpu"),
                        tuple("pfsshfs", "[127.0.0.1:20000-29999]", "pfsshfs"),
                        tuple("transfer", "[127.0.0.1:30000-31999]", "transfer"),
                        tuple("ws", "[127.0.0.1:32000]", "ws"));
        assertThat(c.backends()).extracting(BackendConfig::name, BackendConfig::balance, BackendConfig::hashType)
                .containsExactly(
                        tuple("pcpu", BalanceAlgorithm.LEASTCONN, HashType.MAP_BASED),
                        tuple("pfsshfs", BalanceAlgorithm.SOURCE, HashType.CONSISTENT),
                        tuple("transfer", BalanceAlgorithm.LEASTCONN, HashType.MAP_BASED),
                        tuple("ws", BalanceAlgorithm.LEASTCONN, HashType.MAP_BASED));
        for (BackendConfig b : c.backends()) {
            assertThat(b.connectTimeoutMs()).isPositive();
            assertThat(b.serverTimeoutMs()).isPositive();
            assertThat(b.retries()).isEqualTo(3);
            assertThat(b.redispatch()).isTrue();
            assertThat(b.servers()).isNotEmpty().allSatisfy(s -> {
                assertThat(s.host()).isEqualTo("127.0.0.1");
                assertThat(s.port()).isBetween(7000, 7999);
                assertThat(s.check()).isTrue();
            });
        }
        assertThat(c.frontends()).allSatisfy(f -> assertThat(f.clientTimeoutMs()).isPositive());
        assertThat(c.global().maxconn()).isPositive();
        assertThat(c.global().nbthread()).isZero();
        assertThat(c.global().hardStopAfterMs()).isPositive();
    }

    // ------------------------------------------------------------------------------------ defaults

    @Test
    void builtInDefaultsAreHaproxys() {
        ProxyConfig c = valid("""
                frontend fe
                    bind 127.0.0.1:8000
                    default_backend app
                backend app
                    server s1 127.0.0.1:7001
                """);
        BackendConfig b = backend(c, "app");
        assertThat(b.balance()).isEqualTo(BalanceAlgorithm.ROUNDROBIN);
        assertThat(b.hashType()).isEqualTo(HashType.MAP_BASED);
        assertThat(b.retries()).isEqualTo(3);
        assertThat(b.redispatch()).isFalse();
        assertThat(List.of(b.connectTimeoutMs(), b.serverTimeoutMs(), b.queueTimeoutMs(), b.serverFinTimeoutMs()))
                .containsOnly(0L);
        assertThat(b.servers()).containsExactly(new ServerConfig("s1", "127.0.0.1", 7001, false, 2000, 2, 3, 1, 0,
                false, false, new Origin("t.cfg", 5)));
        FrontendConfig f = frontend(c, "fe");
        assertThat(f.maxconn()).isZero();
        assertThat(f.clientTimeoutMs()).isZero();
        assertThat(c.global()).isEqualTo(GlobalConfig.DEFAULT);
    }

    @Test
    void sectionsInheritTheDefaultsBeforeThemAndALaterDefaultsResetsThem() {
        ProxyConfig c = valid("""
                global
                    maxconn 5000
                    nbthread 4
                    hard-stop-after 1m
                defaults
                    mode tcp
                    maxconn 1000
                    balance leastconn
                    hash-type consistent
                    retries 5
                    option redispatch
                    timeout connect 2s
                    timeout client 30s
                    timeout server 40s
                    timeout queue 10s
                    timeout client-fin 5s
                    timeout server-fin 6s
                    default_backend app
                    default-server check inter 5s rise 4 fall 5 weight 10 maxconn 50
                frontend fe1
                    bind 127.0.0.1:8000
                backend app
                    balance source
                    no option redispatch
                    server s1 127.0.0.1:7001
                    server s2 127.0.0.1:7002 weight 20 no-check backup
                    default-server inter 1s
                    server s3 127.0.0.1:7003 disabled
                defaults
                    timeout client 1m
                frontend fe2
                    bind 127.0.0.1:8001
                    default_backend other
                backend other
                    server s1 127.0.0.1:7004
                """);
        assertThat(c.global()).isEqualTo(new GlobalConfig(5000, 4, 60_000));

        FrontendConfig fe1 = frontend(c, "fe1");
        assertThat(fe1.defaultBackend()).isEqualTo("app");
        assertThat(fe1.maxconn()).isEqualTo(1000);
        assertThat(fe1.clientTimeoutMs()).isEqualTo(30_000);
        assertThat(fe1.clientFinTimeoutMs()).isEqualTo(5_000);

        BackendConfig app = backend(c, "app");
        assertThat(app.balance()).isEqualTo(BalanceAlgorithm.SOURCE);
        assertThat(app.hashType()).isEqualTo(HashType.CONSISTENT);
        assertThat(app.retries()).isEqualTo(5);
        assertThat(app.redispatch()).isFalse();
        assertThat(List.of(app.connectTimeoutMs(), app.serverTimeoutMs(), app.queueTimeoutMs(),
                app.serverFinTimeoutMs())).containsExactly(2_000L, 40_000L, 10_000L, 6_000L);
        assertThat(app.servers()).extracting(ServerConfig::name, ServerConfig::check, ServerConfig::interMs,
                        ServerConfig::rise, ServerConfig::fall, ServerConfig::weight, ServerConfig::maxconn,
                        ServerConfig::backup, ServerConfig::disabled)
                .containsExactly(
                        tuple("s1", true, 5_000L, 4, 5, 10, 50, false, false),
                        tuple("s2", false, 5_000L, 4, 5, 20, 50, true, false),
                        // default-server applies to the servers after it.
                        tuple("s3", true, 1_000L, 4, 5, 10, 50, false, true));

        // After the second defaults: HAProxy's built-in values again, plus that section's own.
        FrontendConfig fe2 = frontend(c, "fe2");
        assertThat(fe2.maxconn()).isZero();
        assertThat(fe2.clientTimeoutMs()).isEqualTo(60_000);
        BackendConfig other = backend(c, "other");
        assertThat(other.balance()).isEqualTo(BalanceAlgorithm.ROUNDROBIN);
        assertThat(other.hashType()).isEqualTo(HashType.MAP_BASED);
        assertThat(other.retries()).isEqualTo(3);
        assertThat(other.connectTimeoutMs()).isZero();
        assertThat(other.servers().get(0)).extracting(ServerConfig::check, ServerConfig::interMs,
                ServerConfig::weight).containsExactly(false, 2_000L, 1);
    }

    @Test
    void namedDefaultsAreChosenWithFrom() {
        ProxyConfig c = valid("""
                defaults slow
                    timeout connect 9s
                    retries 7
                defaults fast
                    timeout connect 1s
                backend a from slow
                    server s1 127.0.0.1:7001
                backend b
                    server s1 127.0.0.1:7002
                """);
        assertThat(backend(c, "a").connectTimeoutMs()).isEqualTo(9_000);
        assertThat(backend(c, "a").retries()).isEqualTo(7);
        assertThat(backend(c, "b").connectTimeoutMs()).isEqualTo(1_000);
        assertThat(backend(c, "b").retries()).isEqualTo(3);
    }

    // ------------------------------------------------------------------------------------ listen

    @Test
    void listenIsAFrontendAndABackendSendingToItself() {
        ProxyConfig c = valid("""
                defaults
                    default_backend elsewhere
                listen ssh
                    bind 127.0.0.1:2222
                    maxconn 10
                    balance source
                    server s1 127.0.0.1:22
                backend elsewhere
                    server s1 127.0.0.1:7001
                listen relay
                    bind 127.0.0.1:2223
                    default_backend elsewhere
                """);
        assertThat(c.frontends()).extracting(FrontendConfig::name, FrontendConfig::defaultBackend,
                FrontendConfig::maxconn).containsExactly(tuple("ssh", "ssh", 10), tuple("relay", "elsewhere", 0));
        assertThat(c.backends()).extracting(BackendConfig::name).containsExactly("ssh", "elsewhere", "relay");
        assertThat(backend(c, "ssh").balance()).isEqualTo(BalanceAlgorithm.SOURCE);
        assertThat(backend(c, "ssh").servers()).extracting(ServerConfig::port).containsExactly(22);
    }

    @Test
    void aFrontendAndABackendMayShareAName() {
        ProxyConfig c = valid("""
                frontend app
                    bind 127.0.0.1:8000
                    default_backend app
                backend app
                    server s1 127.0.0.1:7001
                """);
        assertThat(frontend(c, "app").defaultBackend()).isEqualTo("app");
        assertThat(c.backends()).hasSize(1);
    }

    // ------------------------------------------------------------------------------------ addresses

    @Test
    void bindsAcceptIpv4Ipv6WildcardsRangesAndCommaLists() {
        ProxyConfig c = valid("""
                frontend fe
                    bind 127.0.0.1:8000,127.0.0.1:8001-8003,[::1]:8000
                    bind [::1]:8080
                    bind ::1:8081
                    bind :::8082
                    bind [2001:DB8:0:0:0:0:0:1]:8083
                    bind 2001:db8::2:8084
                    bind ::ffff:127.0.0.2:8085
                    bind *:9000
                    bind :9001
                    bind 0.0.0.0:9002
                    bind "$ADDR:${PORT}"
                    default_backend app
                backend app
                """);
        FrontendConfig f = frontend(c, "fe");
        assertThat(f.binds()).extracting(Bind::host, Bind::lowPort, Bind::highPort).containsExactly(
                tuple("127.0.0.1", 8000, 8000),
                tuple("127.0.0.1", 8001, 8003),
                tuple("::1", 8000, 8000),
                tuple("::1", 8080, 8080),
                tuple("::1", 8081, 8081),
                tuple("::", 8082, 8082),
                tuple("2001:db8::1", 8083, 8083),
                tuple("2001:db8::2", 8084, 8084),
                tuple("127.0.0.2", 8085, 8085),
                tuple(null, 9000, 9000),
                tuple(null, 9001, 9001),
                tuple("0.0.0.0", 9002, 9002),
                tuple("127.0.0.9", 8080, 8080));
        assertThat(f.binds().get(2).origin()).isEqualTo(new Origin("t.cfg", 2));
        assertThat(c.listenerCount()).isEqualTo(15);
        assertThat(f.binds().get(3)).hasToString("[::1]:8080");
        assertThat(f.binds().get(9)).hasToString(":9000");
    }

    @Test
    void serversAcceptLiteralsAndHostNames() {
        ProxyConfig c = valid("""
                backend app
                    server a 10.0.0.1:1
                    server b [::1]:7002
                    server c ::1:7003
                    server d vm-17.swarm.internal:65535
                    server e localhost:7005
                """);
        assertThat(backend(c, "app").servers()).extracting(ServerConfig::host, ServerConfig::port).containsExactly(
                tuple("10.0.0.1", 1), tuple("::1", 7002), tuple("::1", 7003), tuple("vm-17.swarm.internal", 65535),
                tuple("localhost", 7005));
    }

    @Test
    void wildcardBindsOverlapEverySpecificAddress() {
        ConfigResult r = ConfigParser.parse("t.cfg", """
                frontend a
                    bind 0.0.0.0:80
                    bind 127.0.0.1:81
                    bind [::1]:82
                    default_backend app
                frontend b
                    bind 127.0.0.1:80
                    bind :::81
                    bind [::2]:82
                    default_backend app
                backend app
                """);
        assertThat(r.errors()).containsExactly(
                "parsing [t.cfg:7] : bind 127.0.0.1:80 in frontend 'b' overlaps bind 0.0.0.0:80 in frontend 'a'"
                        + " declared at t.cfg:2",
                "parsing [t.cfg:8] : bind [::]:81 in frontend 'b' overlaps bind 127.0.0.1:81 in frontend 'a'"
                        + " declared at t.cfg:3");
    }

    @Test
    void timeoutTunnelIsABackendSettingThatDefaultsPassOn() {
        ProxyConfig c = valid("""
                defaults
                    timeout connect 1s
                    timeout client 30s
                    timeout server 30s
                    timeout tunnel 1h
                listen ws
                    bind 127.0.0.1:7000
                    server s1 127.0.0.1:7001
                backend own
                    timeout tunnel 5m
                backend none
                    timeout tunnel 0
                """);
        assertThat(backend(c, "ws").tunnelTimeoutMs()).isEqualTo(3_600_000L);
        assertThat(backend(c, "own").tunnelTimeoutMs()).isEqualTo(300_000L);
        assertThat(backend(c, "none").tunnelTimeoutMs()).isZero();
    }

    @Test
    void timeoutTunnelInAFrontendIsRefusedAsHaproxyRefusesIt() {
        ConfigResult r = ConfigParser.parse("t.cfg", """
                frontend fe
                    bind 127.0.0.1:7000
                    timeout tunnel 1h
                    default_backend app
                backend app
                """, ENV::get);
        assertThat(r.ok()).isFalse();
        assertThat(r.errors()).singleElement().asString()
                .startsWith("parsing [t.cfg:3] : 'timeout tunnel' not allowed because frontend 'fe'");
    }

    @Test
    void loopPriorityIsNormalByDefaultAndRealtimeOnRequest() {
        String rest = """
                defaults
                    timeout connect 1s
                    timeout client 1m
                    timeout server 1m
                listen l
                    bind 127.0.0.1:7000
                    server s1 127.0.0.1:7001
                """;
        assertThat(valid(rest).global().loopPriority()).isZero();
        assertThat(valid("global\n    loop-priority normal\n" + rest).global().loopPriority()).isZero();
        assertThat(valid("global\n    loop-priority realtime\n" + rest).global().loopPriority()).isEqualTo(1);
        assertThat(valid("global\n    loop-priority realtime 50\n" + rest).global().loopPriority()).isEqualTo(50);

        ConfigResult r = ConfigParser.parse("p.cfg", """
                global
                    loop-priority fast
                    loop-priority realtime 100
                    loop-priority realtime 1 2
                    loop-priority
                    loop-priority normal 3
                """ + rest);
        assertThat(r.config()).isNull();
        assertThat(r.errors()).containsExactly(
                "parsing [p.cfg:2] : 'loop-priority' in 'global' section expects 'normal' or 'realtime [1-99]', got"
                        + " 'fast'",
                "parsing [p.cfg:3] : 'loop-priority realtime' in 'global' section expects an integer between 1 and"
                        + " 99, got '100'",
                "parsing [p.cfg:4] : 'loop-priority realtime' in 'global' section cannot handle unexpected argument"
                        + " '2'",
                "parsing [p.cfg:5] : 'loop-priority' in 'global' section expects 'normal' or 'realtime [1-99]'",
                "parsing [p.cfg:6] : 'loop-priority normal' in 'global' section cannot handle unexpected argument"
                        + " '3'");
    }

    // ------------------------------------------------------------------------------------ errors and warnings

    @Test
    void collectsEveryErrorInsteadOfStoppingAtTheFirst() {
        ConfigResult r = ConfigParser.parse("three.cfg", """
                frontend fe
                    bind 127.0.0.1:8000
                    maxconn abc
                    default_backend app
                backend app
                    balance uri
                    server s1 127.0.0.1:7001
                    log global
                """);
        assertThat(r.config()).isNull();
        assertThat(r.errors()).containsExactly(
                "parsing [three.cfg:3] : 'maxconn' in 'frontend' section expects a positive integer, got 'abc'",
                "parsing [three.cfg:6] : 'balance uri' is a HAProxy algorithm that Planetary does not support (in"
                        + " 'backend' section); use roundrobin, leastconn or source",
                "parsing [three.cfg:8] : 'log' not allowed because backend 'app' has no frontend capability");
    }

    @Test
    void warnsLikeHaproxyAboutMissingTimeoutsAndFrontendsWithoutBind() {
        ConfigResult r = ConfigParser.parse("w.cfg", """
                frontend fe
                    default_backend app
                backend app
                    timeout connect 5s
                    server s1 127.0.0.1:7001
                backend empty
                listen l
                    bind 127.0.0.1:8000
                    timeout client 5s
                    timeout connect 5s
                    timeout server 5s
                    server s1 127.0.0.1:7001
                """);
        assertThat(r.ok()).isTrue();
        assertThat(r.warnings()).containsExactly(
                "parsing [w.cfg:1] : frontend 'fe' has no 'bind' directive. Please declare it as a backend if this"
                        + " was intended.",
                "parsing [w.cfg:1] : missing timeouts for frontend 'fe'" + MISSING_TIMEOUTS,
                "parsing [w.cfg:3] : missing timeouts for backend 'app'" + MISSING_TIMEOUTS);
    }

    @Test
    void acceptsWindowsLineEndingsCommentsAndQuoting() {
        ProxyConfig c = valid("# Planetary\r\nglobal\r\n\tmaxconn 100 # per process\r\n\r\n"
                + "listen \"web\"\r\n  bind '127.0.0.1:8000'\r\n  server s\\x31 127.0.0.1:7001\r\n");
        assertThat(c.global().maxconn()).isEqualTo(100);
        assertThat(frontend(c, "web").binds()).extracting(Bind::lowPort).containsExactly(8000);
        assertThat(backend(c, "web").servers()).extracting(ServerConfig::name).containsExactly("s1");
    }

    @Test
    void neverThrowsOnGarbage() {
        String[] pieces = {"global", "defaults", "frontend", "backend", "listen", "bind", "server", "maxconn",
            "timeout", "connect", "balance", "hash-type", "option", "no", "redispatch", "default-server", "mode",
            "default_backend", "a", "b", ":80", "127.0.0.1:1-2", "[::1]:3", "*:", ":", "-", "0", "99999999999",
            "5s", "\"", "'", "\\", "\\x", "$", "\"${", "#", ",", "check", "inter", "weight", "from", "\t", "\r", ""};
        Random random = new Random(42);
        for (int file = 0; file < 500; file++) {
            StringBuilder text = new StringBuilder();
            for (int line = 0; line < 20; line++) {
                int words = random.nextInt(6);
                for (int w = 0; w < words; w++) {
                    text.append(pieces[random.nextInt(pieces.length)]).append(random.nextBoolean() ? " " : "");
                }
                text.append('\n');
            }
            ConfigResult r = ConfigParser.parse("fuzz.cfg", text.toString(), ENV::get);
            assertThat(r.ok()).isEqualTo(r.config() != null);
            assertThat(r.errors()).allSatisfy(e -> assertThat(e).startsWith("parsing [fuzz.cfg:"));
            assertThat(r.warnings()).allSatisfy(e -> assertThat(e).startsWith("parsing [fuzz.cfg:"));
        }
    }

    // ------------------------------------------------------------------------------------ several files

    @Test
    void readsSeveralFilesInOrderAndDefaultsCarryOver(@TempDir Path dir) throws IOException {
        Path a = write(dir, "a.cfg", """
                global
                    maxconn 100
                defaults
                    timeout connect 3s
                    timeout client 3s
                    timeout server 3s
                """);
        Path b = write(dir, "b.cfg", """
                backend app
                    server s1 127.0.0.1:7001
                """);
        Path c = write(dir, "c.cfg", """
                frontend fe
                    bind 127.0.0.1:8000
                    default_backend app
                """);
        ConfigResult r = ConfigParser.parse(List.of(a, b, c));
        assertThat(r.errors()).isEmpty();
        assertThat(r.warnings()).isEmpty();
        assertThat(r.config().global().maxconn()).isEqualTo(100);
        assertThat(r.config().backend("app").orElseThrow().connectTimeoutMs()).isEqualTo(3_000);
        assertThat(r.config().backend("app").orElseThrow().servers().get(0).origin())
                .isEqualTo(new Origin(b.toString(), 2));
        assertThat(r.config().frontends().get(0).origin()).isEqualTo(new Origin(c.toString(), 1));
    }

    /** As in HAProxy 2.6 ({@code haproxy -c -f a -f b} says "unknown keyword 'server' out of section"). */
    @Test
    void aSectionDoesNotContinueIntoTheNextFile(@TempDir Path dir) throws IOException {
        Path a = write(dir, "a.cfg", "backend app\n");
        Path b = write(dir, "b.cfg", "    server s1 127.0.0.1:7001\n");
        ConfigResult r = ConfigParser.parse(List.of(a, b));
        assertThat(r.errors()).containsExactly("parsing [" + b + ":1] : unknown keyword 'server' out of section");
    }

    @Test
    void namesEachFileAsGivenAndCarriesOnAfterAnUnreadableOne(@TempDir Path dir) throws IOException {
        Path missing = dir.resolve("missing.cfg");
        Path bad = write(dir, "bad.cfg", "backend app\n    frobnicate\n");
        Path relative = Path.of("no/such/dir/x.cfg");
        ConfigResult r = ConfigParser.parse(List.of(missing, bad, relative));
        assertThat(r.errors()).containsExactly(
                "parsing [" + missing + ":0] : could not open configuration file '" + missing
                        + "' : No such file or directory",
                "parsing [" + bad + ":2] : unknown keyword 'frobnicate' in 'backend' section",
                "parsing [no/such/dir/x.cfg:0] : could not open configuration file 'no/such/dir/x.cfg' : No such"
                        + " file or directory");
    }

    @Test
    void aDirectoryStandsForItsCfgFilesInNameOrder(@TempDir Path dir) throws IOException {
        Path conf = Files.createDirectory(dir.resolve("conf.d"));
        write(conf, "20-frontend.cfg", "frontend fe\n    bind 127.0.0.1:8000\n    default_backend app\n");
        write(conf, "10-backend.cfg", "backend app\n    server s1 127.0.0.1:7001\n");
        write(conf, "README", "not a config\n");
        write(conf, ".hidden.cfg", "garbage\n");
        ConfigResult r = ConfigParser.parse(List.of(conf));
        assertThat(r.errors()).isEmpty();
        assertThat(r.config().backends()).extracting(BackendConfig::origin)
                .containsExactly(new Origin(conf.resolve("10-backend.cfg").toString(), 1));
    }

    private static Path write(Path dir, String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void emptyInputIsAnEmptyConfig() {
        ConfigResult r = ConfigParser.parse("empty.cfg", "");
        assertThat(r.ok()).isTrue();
        assertThat(r.config().frontends()).isEmpty();
        assertThat(r.config().listenerCount()).isZero();
        assertThat(ConfigParser.parse(new ArrayList<>()).ok()).isTrue();
    }
}
