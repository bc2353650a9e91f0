package dev.planetary.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.Hub;
import dev.planetary.registry.Writer;
import dev.planetary.registry.state.Registration;
import dev.planetary.registry.state.Registry;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.state.Vm;
import dev.planetary.registry.testing.EtcdProcess;
import dev.planetary.registry.testing.FakeClock;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The registry's writer committing through the etcd store: register, re-register, leave, drain and release. */
class WriterOnEtcdTest {

    private static final String P = "/test/writer/";
    private static final int VMS = 12;

    @TempDir
    Path dir;

    private static Registration registration(String instance) {
        return new Registration(null, 2, 1024, 0, Map.of("ssh", 22), Map.of(), instance);
    }

    private static String get(Client c, String key) throws Exception {
        var r = c.getKVClient().get(ByteSequence.from(P + key, StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
        return r.getKvs().isEmpty() ? null : r.getKvs().get(0).getValue().toString(StandardCharsets.UTF_8);
    }

    private static long count(Client c, String keyPrefix) throws Exception {
        ByteSequence k = ByteSequence.from(P + keyPrefix, StandardCharsets.UTF_8);
        return c.getKVClient().get(k, GetOption.builder().isPrefix(true).withCountOnly(true).build())
            .get(10, TimeUnit.SECONDS).getCount();
    }

    @Test
    void registrationsLeavesAndReleasesLandInEtcdInOneVersionSequence() throws Exception {
        Settings s = new Settings(Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ZERO, Duration.ZERO);
        Registry registry = new Registry(s, new Random(7));
        Hub hub = new Hub();
        hub.init(registry.view(), List.of());
        AtomicReference<String> fatal = new AtomicReference<>();
        try (EtcdProcess etcd = EtcdProcess.start(dir.resolve("etcd"));
             EtcdStore store = EtcdStore.open(etcd.endpoints(), P);
             Client c = Client.builder().endpoints(etcd.url()).build()) {
            Writer w = new Writer(registry, store, hub, new FakeClock(), fatal::set);
            w.start();
            try {
                List<Vm> vms = new ArrayList<>();
                for (int i = 0; i < VMS; i++) {
                    String key = "host-" + i;
                    vms.add(w.submit((r, now, wall) -> r.register(registration(key), "127.0.0." + (1 + key.length()),
                        now, wall).vm(), true).get(30, TimeUnit.SECONDS));
                }
                // idempotent by instance key: the same id and ports, no new offset
                Vm again = w.submit((r, now, wall) -> r.register(registration("host-3"), "127.0.0.7", now, wall).vm(),
                    true).get(30, TimeUnit.SECONDS);
                assertThat(again.id()).isEqualTo(vms.get(3).id());
                assertThat(again.ports()).isEqualTo(vms.get(3).ports());
                assertThat(vms.stream().map(v -> v.ports().offset()).distinct()).hasSize(VMS);
                for (Vm vm : vms) {
                    assertThat(get(c, "port/" + vm.ports().offset())).isEqualTo(vm.id());
                    assertThat(get(c, "vm/" + vm.id())).contains(vm.id());
                }
                Vm leaving = vms.get(5);
                w.submit((r, now, wall) -> r.leave(leaving.id(), now), true).get(30, TimeUnit.SECONDS);
                // drain 0 and grace 0: the writer's tick removes it, then frees its ports, each a committed change
                await().atMost(Duration.ofSeconds(30))
                    .untilAsserted(() -> assertThat(get(c, "port/" + leaving.ports().offset())).isNull());
                assertThat(get(c, "vm/" + leaving.id())).isNull();
                assertThat(get(c, "key/host-5")).isNull();
                long version = w.submit((r, now, wall) -> r.version(), false).get(30, TimeUnit.SECONDS);
                assertThat(get(c, "version")).isEqualTo(Long.toString(version));
                assertThat(count(c, "log/")).as("one log record per version").isEqualTo(version);
                assertThat(count(c, "vm/")).isEqualTo(VMS - 1);
                assertThat(count(c, "port/")).isEqualTo(VMS - 1);
                assertThat(fatal.get()).isNull();
                // a second store (another Genesis instance starting) reads back exactly the writer's state
                try (EtcdStore other = EtcdStore.open(etcd.endpoints(), P)) {
                    dev.planetary.registry.store.SharedStore.Loaded loaded = other.load();
                    List<Vm> live = w.submit((r, now, wall) -> r.vms(), false).get(30, TimeUnit.SECONDS);
                    assertThat(loaded.version()).isEqualTo(version);
                    assertThat(loaded.vms()).containsExactlyInAnyOrderElementsOf(live);
                    assertThat(loaded.released()).isEmpty();
                }
            } finally {
                w.close();
            }
        }
    }
}
