package dev.planetary.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.ConfigDiff.Endpoint;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigDiffTest {

    private static final String BASE = """
        global
            maxconn 1000
        defaults
            mode tcp
            timeout connect 1s
            timeout client 10s
            timeout server 10s
        frontend fe
            bind 127.0.0.1:7000-7001
            default_backend be
        backend be
            server a 127.0.0.1:9001 weight 10
            server b 127.0.0.1:9002 check inter 1s
        """;

    private static ProxyConfig parse(String text) {
        ConfigResult r = ConfigParser.parse("t.cfg", text, k -> null);
        assertThat(r.errors()).isEmpty();
        return r.config();
    }

    @Test
    void sameFilesChangeNothingEvenWhenLinesMove() {
        ProxyConfig a = parse(BASE);
        ProxyConfig b = parse("# a comment that moves every line down\n\n" + BASE);
        ConfigDiff d = ConfigDiff.between(a, b);
        assertThat(d.isEmpty()).isTrue();
        assertThat(d.summary()).isEqualTo("no change");
    }

    @Test
    void addedAndRemovedPortsAreMatchedByAddressAndPort() {
        ProxyConfig a = parse(BASE);
        ProxyConfig b = parse(BASE.replace("bind 127.0.0.1:7000-7001", "bind 127.0.0.1:7001-7002"));
        ConfigDiff d = ConfigDiff.between(a, b);
        assertThat(d.addedEndpoints()).containsExactly(Map.entry(new Endpoint("127.0.0.1", 7002), "fe"));
        assertThat(d.removedEndpoints()).containsExactly(new Endpoint("127.0.0.1", 7000));
        assertThat(d.movedEndpoints()).isEmpty();
        assertThat(d.changedFrontends()).extracting(FrontendConfig::name).containsExactly("fe");
        assertThat(d.changedBackends()).isEmpty();
    }

    @Test
    void aPortTakenOverByAnotherFrontendKeepsItsSocket() {
        ProxyConfig a = parse(BASE + "frontend other\n    bind 127.0.0.1:7100\n    default_backend be\n");
        ProxyConfig b = parse(BASE.replace("bind 127.0.0.1:7000-7001", "bind 127.0.0.1:7000")
            + "frontend other\n    bind 127.0.0.1:7100\n    bind 127.0.0.1:7001\n    default_backend be\n");
        ConfigDiff d = ConfigDiff.between(a, b);
        assertThat(d.movedEndpoints()).containsExactly(Map.entry(new Endpoint("127.0.0.1", 7001), "other"));
        assertThat(d.addedEndpoints()).isEmpty();
        assertThat(d.removedEndpoints()).isEmpty();
    }

    @Test
    void serversAreEditedByNameWeightAndDisabledInPlaceOtherChangesReplace() {
        ProxyConfig a = parse(BASE);
        ProxyConfig b = parse(BASE
            .replace("server a 127.0.0.1:9001 weight 10", "server a 127.0.0.1:9001 weight 20 disabled")
            .replace("server b 127.0.0.1:9002 check inter 1s", "server b 127.0.0.1:9002 check inter 2s\n"
                + "    server c 127.0.0.1:9003"));
        ConfigDiff d = ConfigDiff.between(a, b);
        ConfigDiff.ServerEdits e = d.serverEdits().get("be");
        assertThat(e.weights()).containsExactly(Map.entry("a", 20));
        assertThat(e.disabled()).containsExactly(Map.entry("a", true));
        assertThat(e.removed()).containsExactly("b");
        assertThat(e.added()).extracting(ServerConfig::name).containsExactly("b", "c");
        assertThat(d.changedBackends()).extracting(BackendConfig::name).containsExactly("be");
        assertThat(d.rebuiltBackends()).isEmpty();
    }

    @Test
    void aTimeoutChangeChangesTheBackendButNoServer() {
        ConfigDiff d = ConfigDiff.between(parse(BASE), parse(BASE.replace("timeout server 10s",
            "timeout server 20s")));
        assertThat(d.changedBackends()).extracting(BackendConfig::serverTimeoutMs).containsExactly(20_000L);
        assertThat(d.serverEdits()).isEmpty();
        assertThat(d.isEmpty()).isFalse();
    }

    @Test
    void aNewBalanceRebuildsTheBackend() {
        ConfigDiff d = ConfigDiff.between(parse(BASE), parse(BASE.replace("\nbackend be\n",
            "\nbackend be\n    balance leastconn\n")));
        assertThat(d.rebuiltBackends()).extracting(BackendConfig::name).containsExactly("be");
        assertThat(d.changedBackends()).isEmpty();
    }

    @Test
    void frontendsAndBackendsComeAndGo() {
        ProxyConfig a = parse(BASE + "frontend old\n    bind 127.0.0.1:7200\n    default_backend be\n");
        ProxyConfig b = parse(BASE + "frontend new\n    bind 127.0.0.1:7300\n    default_backend be2\n"
            + "backend be2\n    server x 127.0.0.1:9100\n");
        ConfigDiff d = ConfigDiff.between(a, b);
        assertThat(d.addedFrontends()).extracting(FrontendConfig::name).containsExactly("new");
        assertThat(d.removedFrontends()).containsExactly("old");
        assertThat(d.addedBackends()).extracting(BackendConfig::name).containsExactly("be2");
        assertThat(d.removedEndpoints()).containsExactly(new Endpoint("127.0.0.1", 7200));
        assertThat(d.addedEndpoints()).containsOnlyKeys(new Endpoint("127.0.0.1", 7300));
        assertThat(d.summary()).contains("frontend(s) added [new]", "backend(s) added [be2]");
    }

    private static final String GENESIS = """
        genesis swarm
            url http://127.0.0.1:9000
        backend disc
            discover genesis swarm service ssh
        frontend pinned
            bind 127.0.0.1:7400
            default_backend disc
        """;

    @Test
    void genesisIsFollowedAnewOnlyWhenItsPartChanged() {
        ProxyConfig a = parse(BASE + GENESIS);
        assertThat(ConfigDiff.between(a, parse(BASE.replace("weight 10", "weight 5") + GENESIS))
            .genesisToRestart()).isEmpty();
        assertThat(ConfigDiff.between(a, parse(BASE + GENESIS.replace("9000", "9001"))).genesisToRestart())
            .containsExactly("swarm");
        assertThat(ConfigDiff.between(a, parse(BASE + GENESIS.replace("service ssh",
            "service ssh\n    server s 127.0.0.1:9500"))).genesisToRestart()).containsExactly("swarm");
        assertThat(ConfigDiff.between(a, parse(BASE + GENESIS.replace("bind 127.0.0.1:7400",
            "bind 127.0.0.1:7400-7401"))).genesisToRestart()).containsExactly("swarm");
        ConfigDiff gone = ConfigDiff.between(a, parse(BASE));
        assertThat(gone.genesisToStop()).containsExactly("swarm");
        assertThat(gone.genesisToRestart()).isEmpty();
        assertThat(ConfigDiff.between(parse(BASE), a).genesisToRestart()).containsExactly("swarm");
    }

    @Test
    void nbthreadNeedsANewProcess() {
        ConfigDiff d = ConfigDiff.between(parse(BASE), parse(BASE.replace("maxconn 1000", "maxconn 1000\n"
            + "    nbthread 3")));
        assertThat(d.needsNewProcess()).singleElement().asString().contains("nbthread");
    }

    @Test
    void loopPriorityNeedsANewProcess() {
        ConfigDiff d = ConfigDiff.between(parse(BASE), parse(BASE.replace("maxconn 1000", "maxconn 1000\n"
            + "    loop-priority realtime")));
        assertThat(d.needsNewProcess()).singleElement().asString().contains("'loop-priority' changed");
        assertThat(ConfigDiff.between(parse(BASE), parse(BASE.replace("maxconn 1000", "maxconn 1000\n"
            + "    loop-priority normal"))).needsNewProcess()).isEmpty();
    }
}
