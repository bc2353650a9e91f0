package dev.planetary.proxy.reload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.ConfigParser;
import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.ProxyBackend;
import dev.planetary.proxy.swarm.FakeGenesis;
import dev.planetary.proxy.swarm.VmServer;
import dev.planetary.proxy.testing.Ports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Review of serverslim (slimreview), finding 3: a discovered server keeps no ServerConfig (issue 8), but a reload
 * that rebuilds a discovering backend (a balance change) seeds it through {@code replaceServers(ServerConfig...)},
 * so every seeded server keeps a config of its own for the rest of its life, as on main.
 */
class SeedKeepsNoConfigReviewTest {

    @TempDir
    Path dir;

    private FakeGenesis genesis;
    private VmServer vm;
    private Proxy proxy;

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
    }

    private String config(int port, String balance) {
        return """
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            genesis swarm
                url %s
            backend pcpu
                balance %s
                discover genesis swarm service pcpu
            frontend pcpu
                bind 127.0.0.1:%d
                default_backend pcpu
            """.formatted(genesis.url(), balance, port);
    }

    @SuppressWarnings("unchecked")
    private static Map<Server, ?> configs(ProxyBackend pb) throws ReflectiveOperationException {
        java.lang.reflect.Field f = ProxyBackend.class.getDeclaredField("configs");
        f.setAccessible(true);
        return (Map<Server, ?>) f.get(pb);
    }

    private Server discovered() {
        return proxy.backend("pcpu").backend().server("vm_00000a").orElse(null);
    }

    @Test
    void aBackendRebuiltByAReloadKeepsNoConfigForItsSeededServers() throws Exception {
        int port = Ports.pcpu();
        vm = VmServer.start("a", "127.0.0.11");
        genesis = FakeGenesis.start(0).snapshot(() -> FakeGenesis.snapshot(1,
            FakeGenesis.vm("vm_00000a", vm.ip(), "active", Map.of("pcpu", vm.port()), Map.of())));
        Path cfg = dir.resolve("g.cfg");
        Files.writeString(cfg, config(port, "roundrobin"));
        proxy = Proxy.start(ConfigParser.parse(List.of(cfg)).config());
        await().atMost(Duration.ofSeconds(10)).until(() -> discovered() != null);
        assertThat(configs(proxy.backend("pcpu"))).as("discovered: no config kept").isEmpty();

        Files.writeString(cfg, config(port, "leastconn")); // the backend is built anew, seeded
        Reloader.Result r = new Reloader(List.of(cfg), proxy).reload();
        assertThat(r.applied()).as("%s", r.lines()).isTrue();
        assertThat(discovered()).as("seeded").isNotNull();
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.discovery("swarm") != null
            && proxy.discovery("swarm").viewsApplied() > 0);
        assertThat(configs(proxy.backend("pcpu"))).as("seeded, then followed: still no config kept").isEmpty();
    }
}
