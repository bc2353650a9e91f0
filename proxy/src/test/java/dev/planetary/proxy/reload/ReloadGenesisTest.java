package dev.planetary.proxy.reload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.ConfigParser;
import dev.planetary.proxy.Discovery;
import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.proxy.swarm.FakeGenesis;
import dev.planetary.proxy.swarm.VmServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reloads and the servers Genesis gives: a reload that does not touch a {@code genesis} section's part leaves its
 * follower and servers alone; one that changes a discovering backend follows Genesis anew without disturbing the
 * discovered servers; a balance change keeps them (seeded into the rebuilt backend); removing the section and the
 * {@code discover} line stops following and leaves the static servers only; adding them back follows again.
 */
class ReloadGenesisTest {

    @TempDir
    Path dir;

    private final Backends backends = new Backends();
    private FakeGenesis genesis;
    private VmServer vm;
    private Proxy proxy;
    private int o1;

    @AfterEach
    void tearDown() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (genesis != null) {
            genesis.close();
        }
        if (vm != null) {
            vm.close();
        }
        backends.close();
    }

    private String config(int port, String balance, String statics, boolean discover, String otherWeight) {
        return """
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            %s
            backend pcpu
                balance %s
            %s%s
            backend other
                server o1 127.0.0.1:%d weight %s
            frontend pcpu
                bind 127.0.0.1:%d
                default_backend pcpu
            """.formatted(discover ? "genesis swarm\n    url " + genesis.url() : "", balance,
            discover ? "    discover genesis swarm service pcpu\n" : "", statics, o1,
            otherWeight, port);
    }

    private String reload(Path cfg, String text) throws Exception {
        Files.writeString(cfg, text);
        Reloader.Result r = new Reloader(List.of(cfg), proxy).reload();
        assertThat(r.applied()).as("%s", r.lines()).isTrue();
        return r.lines().get(r.lines().size() - 1);
    }

    private Optional<Server> server(String name) {
        return proxy.backend("pcpu").backend().server(name);
    }

    @Test
    void discoveredServersAreNotDisturbedByReloads() throws Exception {
        int port = Ports.pcpu();
        vm = VmServer.start("a", "127.0.0.11");
        genesis = FakeGenesis.start(0).snapshot(() -> FakeGenesis.snapshot(1,
            FakeGenesis.vm("vm_00000a", vm.ip(), "active", Map.of("pcpu", vm.port()), Map.of())));
        int s1 = backends.echo("s1").port();
        o1 = backends.echo("o1").port();
        String staticS1 = "    server s1 127.0.0.1:" + s1 + "\n";
        Path cfg = dir.resolve("g.cfg");
        Files.writeString(cfg, config(port, "roundrobin", staticS1, true, "1"));
        proxy = Proxy.start(ConfigParser.parse(List.of(cfg)).config());
        await().atMost(Duration.ofSeconds(10)).until(() -> server("vm_00000a").isPresent());
        Server discovered = server("vm_00000a").orElseThrow();
        Discovery follower = proxy.discovery("swarm");

        // another backend's weight: the follower and its servers are left alone
        assertThat(reload(cfg, config(port, "roundrobin", staticS1, true, "5"))).endsWith("backend(s) changed [other], 1 server edit(s)");
        assertThat(proxy.discovery("swarm")).isSameAs(follower);
        assertThat(server("vm_00000a")).containsSame(discovered);

        // a static server added to the discovering backend: followed anew, the VM's server object stays
        int s2 = backends.echo("s2").port();
        String twoStatics = staticS1 + "    server s2 127.0.0.1:" + s2 + "\n";
        assertThat(reload(cfg, config(port, "roundrobin", twoStatics, true, "5")))
            .contains("genesis followed anew [swarm]");
        assertThat(server("vm_00000a")).as("right after the reload").containsSame(discovered);
        assertThat(server("s2")).isPresent();
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.discovery("swarm") != follower
            && proxy.discovery("swarm").viewsApplied() > 0);
        assertThat(server("vm_00000a")).as("after the new follower's first view").containsSame(discovered);
        assertThat(server("s2")).as("the new follower keeps the new static server").isPresent();

        // balance changes: the backend is built anew, seeded with the VM's server at once
        assertThat(reload(cfg, config(port, "leastconn", twoStatics, true, "5"))).contains("backend(s) rebuilt [pcpu]");
        assertThat(server("vm_00000a")).as("seeded").isPresent();
        assertThat(proxy.frontend("pcpu").backend()).isSameAs(proxy.backend("pcpu"));

        // no more genesis: its follower stops and the backend keeps its static servers only
        assertThat(reload(cfg, config(port, "leastconn", twoStatics, false, "5"))).contains("genesis stopped [swarm]");
        assertThat(proxy.discovery("swarm")).isNull();
        assertThat(proxy.backend("pcpu").servers()).extracting(Server::name).containsExactly("s1", "s2");

        // and back: followed again
        reload(cfg, config(port, "leastconn", twoStatics, true, "5"));
        await().atMost(Duration.ofSeconds(10)).until(() -> server("vm_00000a").isPresent());
    }
}
