package dev.planetary.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code accept-proxy} on bind lines, {@code send-proxy}, {@code send-proxy-v2}, {@code check-send-proxy} on servers. */
class ProxyProtocolConfigTest {

    private static final String DEFAULTS = """
        defaults
            mode tcp
            timeout connect 5s
            timeout client 1m
            timeout server 1m
        """;

    private static ProxyConfig valid(String text) {
        ConfigResult r = ConfigParser.parse("t.cfg", text, Map.<String, String>of()::get);
        assertThat(r.errors()).isEmpty();
        return r.config();
    }

    private static List<String> errors(String text) {
        return ConfigParser.parse("t.cfg", text, Map.<String, String>of()::get).errors();
    }

    @Test
    void acceptProxyAppliesToEveryAddressOfItsLineOnly() {
        ProxyConfig c = valid(DEFAULTS + """
            listen l
                bind 127.0.0.1:8000-8001,127.0.0.2:8000 accept-proxy
                bind 127.0.0.1:9000
                server s 127.0.0.1:7000
            """);
        List<Bind> binds = c.frontends().get(0).binds();
        assertThat(binds).extracting(Bind::acceptProxy).containsExactly(true, true, false);
        assertThat(binds.get(0).origin()).isEqualTo(new Origin("t.cfg", 7));
        assertThat(binds.get(0).toString()).isEqualTo("127.0.0.1:8000-8001");
    }

    @Test
    void sendProxyVersionsOnServerLinesAndFromDefaultServer() {
        ProxyConfig c = valid(DEFAULTS + """
            backend b
                server plain 127.0.0.1:7000
                server v1 127.0.0.1:7001 send-proxy
                server v2 127.0.0.1:7002 send-proxy-v2
                server both 127.0.0.1:7003 send-proxy-v2 send-proxy
                default-server send-proxy-v2 check-send-proxy
                server inherited 127.0.0.1:7004
                server off 127.0.0.1:7005 no-send-proxy-v2
                server offV1Only 127.0.0.1:7006 no-send-proxy
            frontend f
                bind 127.0.0.1:8000
                default_backend b
            """);
        List<ServerConfig> s = c.backend("b").orElseThrow().servers();
        assertThat(s).extracting(ServerConfig::sendProxy).containsExactly(SendProxy.NONE, SendProxy.V1, SendProxy.V2,
            SendProxy.V2, SendProxy.V2, SendProxy.NONE, SendProxy.V2);
        assertThat(s).extracting(ServerConfig::checkSendProxy).containsExactly(false, false, false, false, true, true,
            true);
        // checks: the server's own header, or v1 when check-send-proxy alone asks for one (as HAProxy 2.6)
        assertThat(s).extracting(ServerConfig::checkProxy).containsExactly(SendProxy.NONE, SendProxy.V1, SendProxy.V2,
            SendProxy.V2, SendProxy.V2, SendProxy.V1, SendProxy.V2);
    }

    @Test
    void discoveredServersTakeSendProxyFromDefaultServer() {
        ProxyConfig c = valid(DEFAULTS + """
            genesis g
                url http://127.0.0.1:9000
            backend b
                default-server send-proxy check
                discover genesis g service pcpu
            frontend f
                bind 127.0.0.1:8000
                default_backend b
            """);
        ServerConfig vm = c.backend("b").orElseThrow().discover().server("vm_1", "127.0.0.9", 7000);
        assertThat(vm.sendProxy()).isEqualTo(SendProxy.V1);
        assertThat(vm.check()).isTrue();
    }

    @Test
    void otherBindOptionsStillSayWhatTheyAre() {
        assertThat(errors(DEFAULTS + """
            listen l
                bind 127.0.0.1:8000 accept-proxy ssl
                bind 127.0.0.1:8001 accept-proxi
                server s 127.0.0.1:7000 send-proxy-v2-ssl
            """)).containsExactly(
            "parsing [t.cfg:7] : 'ssl' is a HAProxy bind option that Planetary does not support (in 'listen' section)",
            "parsing [t.cfg:8] : 'bind 127.0.0.1:8001' : unknown option 'accept-proxi'",
            "parsing [t.cfg:9] : 'send-proxy-v2-ssl' is a HAProxy server option that Planetary does not support"
                + " (in 'listen' section)");
    }
}
