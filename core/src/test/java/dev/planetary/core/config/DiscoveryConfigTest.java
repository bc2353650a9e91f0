package dev.planetary.core.config;

import dev.planetary.core.ports.PortKind;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code genesis} sections, {@code discover genesis NAME service SVC} and {@code pin-ports KIND} (issue 8). */
class DiscoveryConfigTest {

    private static ProxyConfig valid(String text) {
        ConfigResult r = ConfigParser.parse("t.cfg", text, Map.<String, String>of()::get);
        assertThat(r.errors()).isEmpty();
        assertThat(r.warnings()).isEmpty();
        return r.config();
    }

    private static List<String> errors(String text) {
        return ConfigParser.parse("t.cfg", text, Map.<String, String>of()::get).errors();
    }

    private static final String DEFAULTS = """
        defaults
            mode tcp
            timeout connect 5s
            timeout client 1m
            timeout server 1m
        """;

    @Test
    void theIssuesExampleParsesWithEveryPart() {
        ProxyConfig c = valid(DEFAULTS + """
            genesis swarm
                url http://127.0.0.1:9000          # Genesis base URL; several `url` lines = fail-over list
                url http://10.0.0.2:9000/

            backend pcpu
                balance leastconn
                default-server check inter 2s      # applies to discovered servers too
                discover genesis swarm service pcpu

            frontend pcpu
                bind :10000-19999
                default_backend pcpu
                pin-ports pcpu
            """);

        assertThat(c.genesis()).singleElement().satisfies(g -> {
            assertThat(g.name()).isEqualTo("swarm");
            assertThat(g.urls()).containsExactly(URI.create("http://127.0.0.1:9000"), URI.create("http://10.0.0.2:9000"));
            assertThat(g.origin()).isEqualTo(new Origin("t.cfg", 6));
        });
        BackendConfig b = c.backend("pcpu").orElseThrow();
        assertThat(b.servers()).isEmpty();
        assertThat(b.discover()).isNotNull();
        assertThat(b.discover().genesis()).isEqualTo("swarm");
        assertThat(b.discover().service()).isEqualTo("pcpu");
        assertThat(b.discover().origin()).isEqualTo(new Origin("t.cfg", 13));
        // default-server options become the discovered servers' options; the VM id is the server's name
        assertThat(b.discover().server("vm_3fa2c1", "127.0.0.5", 7000)).isEqualTo(new ServerConfig("vm_3fa2c1",
            "127.0.0.5", 7000, true, 2_000, 2, 3, 1, 0, false, false, new Origin("t.cfg", 13)));
        FrontendConfig f = c.frontends().get(0);
        assertThat(f.pinPorts()).isEqualTo(new PinPorts(PortKind.PCPU, new Origin("t.cfg", 18)));
        assertThat(f.lowPort()).isEqualTo(10_000);
        assertThat(f.highPort()).isEqualTo(19_999);
        assertThat(c.genesis("swarm")).isPresent();
        assertThat(c.genesis("other")).isEmpty();
    }

    @Test
    void staticServersSitBesideDiscoveryAndDefaultServerValuesAreThoseInForceAtTheDiscoverLine() {
        ProxyConfig c = valid(DEFAULTS + """
                default-server inter 5s
            listen ssh
                bind 127.0.0.1:20000-20009,127.0.0.1:20100
                balance source
                hash-type consistent
                default-server check rise 1 fall 2 weight 10 maxconn 50
                server bastion 127.0.0.1:2222 backup
                discover genesis g service ssh
                default-server weight 99
                pin-ports pfsshfs
            genesis g
                url https://genesis.example:8443
            """);
        BackendConfig b = c.backend("ssh").orElseThrow();
        assertThat(b.servers()).extracting(ServerConfig::name).containsExactly("bastion");
        ServerOptions o = b.discover().options();
        assertThat(o).isEqualTo(new ServerOptions(true, 5_000, 1, 2, 10, 50, false, false));
        FrontendConfig f = c.frontends().get(0);
        assertThat(f.defaultBackend()).isEqualTo("ssh");
        assertThat(f.pinPorts().kind()).isEqualTo(PortKind.PFSSHFS);
        assertThat(f.lowPort()).isEqualTo(20_000);
        assertThat(f.highPort()).isEqualTo(20_100);
        assertThat(f.binds(20_009)).isTrue();
        assertThat(f.binds(20_050)).isFalse();
        assertThat(c.genesis("g").orElseThrow().urls()).containsExactly(URI.create("https://genesis.example:8443"));
    }

    @Test
    void aGenesisSectionMayShareANameWithABackendAndComeAfterItsUsers() {
        ProxyConfig c = valid(DEFAULTS + """
            backend swarm
                discover genesis swarm service pcpu
            frontend fe
                bind 127.0.0.1:15000
                default_backend swarm
                pin-ports transfer
            genesis swarm
                url http://[::1]:9000
            """);
        assertThat(c.genesis("swarm").orElseThrow().urls()).containsExactly(URI.create("http://[::1]:9000"));
        assertThat(c.frontends().get(0).pinPorts().kind()).isEqualTo(PortKind.TRANSFER);
    }

    @Test
    void withoutGenesisNothingChanges() {
        ProxyConfig c = valid(DEFAULTS + """
            listen l
                bind 127.0.0.1:15000
                server s 127.0.0.1:7000
            """);
        assertThat(c.genesis()).isEmpty();
        assertThat(c.backends().get(0).discover()).isNull();
        assertThat(c.frontends().get(0).pinPorts()).isNull();
    }

    @Test
    void aDiscoveringBackendWithoutTimeoutsGetsHaproxysWarning() {
        ConfigResult r = ConfigParser.parse("t.cfg", """
            genesis g
                url http://127.0.0.1:9000
            backend b
                discover genesis g service pcpu
            """);
        assertThat(r.errors()).isEmpty();
        assertThat(r.warnings()).singleElement().asString().startsWith("parsing [t.cfg:3] : missing timeouts for backend 'b'");
    }

    @Test
    void aGenesisSectionNoBackendUsesIsAWarning() {
        ConfigResult r = ConfigParser.parse("t.cfg", DEFAULTS + """
            genesis idle
                url http://127.0.0.1:9000
            listen l
                bind 127.0.0.1:15000
                server s 127.0.0.1:7000
            """);
        assertThat(r.errors()).isEmpty();
        assertThat(r.warnings()).containsExactly("parsing [t.cfg:6] : genesis 'idle' is not used by any 'discover'"
            + " line: the proxy will not follow it");
    }

    @Test
    void eachMistakeNamesItsFileAndLine() {
        assertThat(errors(DEFAULTS + """
            backend b
                discover genesis nowhere service pcpu
            frontend f
                bind 127.0.0.1:15000
                default_backend b
                pin-ports pcpu
            """)).containsExactly("parsing [t.cfg:7] : backend 'b' : 'discover' names genesis 'nowhere', but no"
            + " 'genesis nowhere' section is declared");
        assertThat(errors(DEFAULTS + """
            genesis g
                url http://127.0.0.1:9000
            frontend f
                bind 127.0.0.1:15000
                default_backend b
                pin-ports pcpu
            backend b
                server s 127.0.0.1:7000
            """)).containsExactly("parsing [t.cfg:11] : frontend 'f' : 'pin-ports pcpu' sends each pinned port to a"
            + " VM's server in the frontend's backend, but backend 'b' does not discover its servers (add 'discover"
            + " genesis <name> service <service>')");
        assertThat(errors("genesis g\n    url http://127.0.0.1:9000\n    port 9000\n"))
            .containsExactly("parsing [t.cfg:3] : unknown keyword 'port' in 'genesis' section");
    }
}
