package dev.planetary.registry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.client.testing.Recorder;
import dev.planetary.registry.client.testing.TestGenesis;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The watch against a real Genesis in this JVM: snapshot then changes, resume after a restart, static stability. */
class SwarmWatchGenesisTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    TestGenesis genesis;
    SwarmWatch watch;
    final Recorder rec = new Recorder();

    @AfterEach
    void tearDown() {
        if (watch != null) {
            watch.close();
        }
        if (genesis != null) {
            genesis.close();
        }
        assertThat(rec.errors).isEmpty();
    }

    static WatchOptions fast() {
        return WatchOptions.builder().initialBackoff(Duration.ofMillis(20)).maxBackoff(Duration.ofMillis(200))
            .random(new Random(1)).build();
    }

    private SwarmWatch watch(List<URI> urls) {
        watch = SwarmWatch.start(urls, rec, fast());
        return watch;
    }

    @Test
    void snapshotThenEveryKindOfChange() {
        genesis = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ofMillis(300)));
        String a = genesis.register("10.0.0.1", "{\"pcpu\": 7000, \"ssh\": 22}", "host-a");
        watch(List.of(genesis.uri()));
        await().atMost(WAIT).until(() -> rec.last().vms().containsKey(a));
        SwarmView first = rec.last();
        assertThat(first.version()).isEqualTo(1);
        VmInfo va = first.vms().get(a);
        assertThat(va.ip()).isEqualTo("10.0.0.1");
        assertThat(va.instance()).as("instance keys are not published on the watch stream").isNull();
        assertThat(va.services()).isEqualTo(Map.of("pcpu", 7000, "ssh", 22));
        assertThat(va.state()).isEqualTo(VmInfo.State.ACTIVE);
        assertThat(va.ports()).containsOnlyKeys("pcpu", "pfsshfs", "transfer");
        assertThat(va.ports()).isEqualTo(Map.of("pcpu", genesis.vm(a).at("/ports/pcpu").intValue(),
            "pfsshfs", genesis.vm(a).at("/ports/pfsshfs").intValue(),
            "transfer", genesis.vm(a).at("/ports/transfer").intValue()));

        String b = genesis.register("10.0.0.2", "{\"pcpu\": 7001}", null);                // added, v2
        await().atMost(WAIT).until(() -> rec.last().vms().containsKey(b));
        genesis.register("10.0.0.3", "{\"pcpu\": 7002}", "host-a");                          // updated, v3
        await().atMost(WAIT).until(() -> rec.last().version() == 3);
        assertThat(rec.last().vms().get(a).ip()).isEqualTo("10.0.0.3");
        assertThat(rec.last().vms().get(a).services()).isEqualTo(Map.of("pcpu", 7002));
        assertThat(genesis.send("DELETE", "/api/vms/" + b, null).status()).isEqualTo(202); // draining, v4
        await().atMost(WAIT).until(() -> rec.last().version() >= 4);
        // the draining view is seen before the removal (300 ms later)
        assertThat(rec.views).anySatisfy(v -> {
            assertThat(v.version()).isEqualTo(4);
            assertThat(v.vms().get(b).state()).isEqualTo(VmInfo.State.DRAINING);
        });
        await().atMost(WAIT).until(() -> rec.last().version() == 5);                       // removed, v5
        assertThat(rec.last().vms()).containsOnlyKeys(a);
        assertThat(watch.view().version()).isEqualTo(5);
        assertThat(watch.relists()).isZero();
        assertThat(watch.malformedEvents()).isZero();
        assertThat(watch.stale()).isFalse();
        assertThat(rec.stale).isEmpty();
        // Genesis serves its port plan (the default here); a Genesis that does not (404) is tested with a fake one
        assertThat(watch.view().portPlan()).hasValueSatisfying(p -> {
            assertThat(p.maxVms()).isEqualTo(1999);
            assertThat(p.graceMillis()).isEqualTo(60_000);
        });
    }

    @Test
    void aRemovedVmsReservationIsInTheViewAndInALaterWatchersSnapshotUntilReleased() {
        // long TTL (nothing expires on its own here), short drain and grace
        genesis = TestGenesis.start(dir.resolve("g"), new dev.planetary.registry.state.Settings(Duration.ofMillis(100),
            Duration.ofSeconds(60), Duration.ofMillis(200), Duration.ofSeconds(5)));
        String a = genesis.register("10.0.0.1", "{\"pcpu\": 7000}", "host-a");
        String b = genesis.register("10.0.0.2", "{\"pcpu\": 7000}", "host-b");
        int offset = genesis.vm(a).at("/offset").intValue();
        watch(List.of(genesis.uri()));
        await().atMost(WAIT).until(() -> rec.last().vms().containsKey(b));
        Map<String, Integer> ports = rec.last().vms().get(a).ports();
        assertThat(rec.last().graceServed()).isTrue();
        assertThat(rec.last().reservations()).isEmpty();

        assertThat(genesis.send("DELETE", "/api/vms/" + a, null).status()).isEqualTo(202); // leave: drain, then removal
        await().atMost(WAIT).until(() -> !rec.last().vms().containsKey(a));
        assertThat(rec.last().reservations()).as("removed in the same view that holds its reservation")
            .containsOnlyKeys(a);
        // instance keys are not published on the watch stream: the reservation is known by id
        assertThat(rec.last().reservations().get(a)).isEqualTo(new Reservation(a, null, offset, ports));

        // a watcher that starts after the removal learns the reservation from its snapshot
        Recorder late = new Recorder();
        try (SwarmWatch w2 = SwarmWatch.start(List.of(genesis.uri()), late, fast())) {
            await().atMost(WAIT).until(() -> late.last().vms().containsKey(b));
            // the grace period ends: a `released` event frees the ports in both views, without a relist
            await().atMost(WAIT).until(() -> rec.last().reservations().isEmpty()
                && late.last().reservations().isEmpty());
            long removedAt = rec.views.stream().filter(v -> v.reservations().containsKey(a))
                .mapToLong(SwarmView::version).min().orElseThrow();
            long releasedAt = rec.views.stream().filter(v -> v.version() > removedAt && v.reservations().isEmpty())
                .mapToLong(SwarmView::version).min().orElseThrow();
            SwarmView first = late.views.stream().filter(v -> v.version() > 0).findFirst().orElseThrow(); // snapshot
            assertThat(first.version()).as("5 s of grace are ample to start a watch").isLessThan(releasedAt);
            assertThat(first.reservations()).as("the snapshot holds the reservation").containsOnlyKeys(a);
            assertThat(first.reservations().get(a).ports()).isEqualTo(ports);
            assertThat(rec.last().vms()).containsOnlyKeys(b);
            assertThat(late.last().version()).isEqualTo(rec.last().version());
            assertThat(watch.relists()).isZero();
            assertThat(w2.relists()).isZero();
            assertThat(late.errors).isEmpty();
        }
    }

    @Test
    void viewsAreImmutableAndSortedById() {
        genesis = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ofSeconds(10)));
        for (int i = 0; i < 20; i++) {
            genesis.register("10.0.1." + (i + 1), "{\"pcpu\": 7000}", null);
        }
        watch(List.of(genesis.uri()));
        await().atMost(WAIT).until(() -> rec.last().vms().size() == 20);
        SwarmView v = rec.last();
        assertThat(List.copyOf(v.vms().keySet())).isSorted();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> v.vms().clear())
            .isInstanceOf(UnsupportedOperationException.class);
        genesis.register("10.0.1.99", "{\"pcpu\": 7000}", null);
        await().atMost(WAIT).until(() -> rec.last().vms().size() == 21);
        assertThat(v.vms()).as("an older view never changes").hasSize(20);
    }

    @Test
    void genesisRestartResumesByVersionWithoutRelistAndTheViewStaysWhileItIsDown() {
        genesis = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ofSeconds(10)));
        String a = genesis.register("10.0.0.1", "{\"pcpu\": 7000}", "a");
        String b = genesis.register("10.0.0.2", "{\"pcpu\": 7000}", "b");
        watch(List.of(genesis.uri()));
        await().atMost(WAIT).until(() -> rec.last().version() == 2);

        genesis.stop();
        await().atMost(WAIT).until(watch::stale);
        assertThat(rec.last().vms()).as("static stability: nothing emptied").containsOnlyKeys(a, b);
        assertThat(watch.view().version()).isEqualTo(2);
        long reconnectsWhileDown = watch.reconnects();
        await().atMost(WAIT).until(() -> watch.reconnects() > reconnectsWhileDown + 3); // it keeps trying
        assertThat(rec.staleTrue()).as("told once, however many attempts fail").isEqualTo(1);

        genesis.restart();
        await().atMost(WAIT).until(() -> !watch.stale());
        String c = genesis.register("10.0.0.3", "{\"pcpu\": 7000}", "c");
        await().atMost(WAIT).until(() -> rec.last().vms().containsKey(c));
        assertThat(rec.last().version()).isEqualTo(3);
        assertThat(rec.last().vms()).containsOnlyKeys(a, b, c);
        assertThat(watch.relists()).as("resumed with since=2: no snapshot").isZero();
        assertThat(rec.staleTrue()).isEqualTo(1);
        assertThat(rec.staleFalse()).isEqualTo(1);
        assertThat(rec.stale.get(0)).startsWith("true: " + genesis.uri());
    }

    @Test
    void genesisDownAtStartIsStaleWithTheEmptyViewThenLists() {
        genesis = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ofSeconds(10)));
        String a = genesis.register("10.0.0.1", "{\"pcpu\": 7000}", null);
        genesis.stop();
        watch(List.of(genesis.uri()));
        await().atMost(WAIT).until(watch::stale);
        assertThat(watch.view()).isSameAs(SwarmView.EMPTY);
        genesis.restart();
        await().atMost(WAIT).until(() -> rec.last().vms().containsKey(a));
        assertThat(watch.stale()).isFalse();
        assertThat(watch.relists()).isZero();
    }

    @Test
    void failOverListMovesToTheNextUrlAndKeepsTheVersion() {
        genesis = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ofSeconds(10)));
        String a = genesis.register("10.0.0.1", "{\"pcpu\": 7000}", null);
        URI dead = URI.create("http://127.0.0.1:" + TestGenesis.freePort());
        watch(List.of(dead, genesis.uri()));
        await().atMost(WAIT).until(() -> rec.last().vms().containsKey(a));
        assertThat(watch.reconnects()).isGreaterThanOrEqualTo(1);
        assertThat(watch.stale()).isFalse();
        // the live one goes away and comes back: the watch goes round the list and resumes from its version
        genesis.stop();
        await().atMost(WAIT).until(watch::stale);
        genesis.restart();
        String b = genesis.register("10.0.0.2", "{\"pcpu\": 7000}", null);
        await().atMost(WAIT).until(() -> rec.last().vms().containsKey(b));
        assertThat(watch.relists()).isZero();
    }
}
