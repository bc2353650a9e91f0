package dev.planetary.registry.client;

import static dev.planetary.registry.client.testing.FakeGenesis.change;
import static dev.planetary.registry.client.testing.FakeGenesis.event;
import static dev.planetary.registry.client.testing.FakeGenesis.snapshot;
import static dev.planetary.registry.client.testing.FakeGenesis.vm;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.client.testing.FakeGenesis;
import dev.planetary.registry.client.testing.FakeGenesis.Script;
import dev.planetary.registry.client.testing.Recorder;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A scripted server sends what Genesis never should: garbage, invalid JSON, unknown types, a gap, a version that goes
 * back, a huge line, an error status, silence. Each time the watch keeps its view (with every complete event before
 * the bad one), never applies half of an event, and lists again (a request without {@code since}).
 */
class SwarmWatchBadStreamTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String A = vm("vm_00000a", "10.0.0.1", "active");
    private static final String B = vm("vm_00000b", "10.0.0.2", "active");
    private static final String C = vm("vm_00000c", "10.0.0.3", "active");

    FakeGenesis fake;
    SwarmWatch watch;
    final Recorder rec = new Recorder();

    @BeforeEach
    void start() throws Exception {
        fake = new FakeGenesis();
    }

    @AfterEach
    void stop() {
        if (watch != null) {
            watch.close();
        }
        fake.close();
        assertThat(rec.errors).isEmpty();
    }

    private void watch(WatchOptions.Builder b) {
        watch = SwarmWatch.start(List.of(fake.uri()), rec, b.initialBackoff(b.build().jitter() == 0
            ? Duration.ofMillis(100) : Duration.ofMillis(20)).maxBackoff(Duration.ofMillis(100))
            .random(new Random(7)).build());
    }

    private void watch() {
        watch(WatchOptions.builder());
    }

    /** Serves {@code bad} after a snapshot at 5 (A, B) and an added C at 6; then a relist snapshot at 9 (A only). */
    private void badThenRelist(String bad, boolean countsAsMalformed) {
        fake.scripts.add(Script.events(true, snapshot(5, A, B), change(6, "added", C), bad,
            change(7, "removed", A)));
        fake.scripts.add(Script.events(true, snapshot(9, A)));
        watch();
        await().atMost(WAIT).until(() -> watch.view().version() == 9);
        assertThat(rec.views).as("the view before the bad event: snapshot and the complete change after it")
            .anySatisfy(v -> {
                assertThat(v.version()).isEqualTo(6);
                assertThat(v.vms()).containsOnlyKeys("vm_00000a", "vm_00000b", "vm_00000c");
            });
        assertThat(rec.views).as("nothing after the bad event was applied").noneMatch(v -> v.version() == 7);
        assertThat(watch.view().vms()).containsOnlyKeys("vm_00000a");
        assertThat(fake.watchRequests()).hasSize(2);
        assertThat(fake.watchRequests().get(1)).as("a relist: no since").doesNotContain("since")
            .doesNotContain("Last-Event-ID");
        assertThat(watch.relists()).isEqualTo(1);
        assertThat(watch.malformedEvents()).isEqualTo(countsAsMalformed ? 1 : 0);
        assertThat(watch.stale()).as("Genesis was there all along").isFalse();
        assertThat(rec.stale).isEmpty();
    }

    @Test
    void garbageLine() {
        badThenRelist("this is not an event stream\n\n", true);
    }

    @Test
    void invalidJson() {
        badThenRelist(event(7, "added", "{\"version\":7, \"vm\": {\"id\": "), true);
    }

    @Test
    void unknownEventType() {
        badThenRelist(event(7, "teleported", "{\"version\":7,\"type\":\"teleported\",\"vm\":" + A + "}"), true);
    }

    @Test
    void halfValidVmIsNotApplied() {
        // a VM without a valid ip: the whole event is refused, no VM with half its fields appears
        badThenRelist(change(7, "added", vm("vm_00000d", "not-an-ip", "active")), true);
        assertThat(rec.views).noneMatch(v -> v.vms().containsKey("vm_00000d"));
    }

    @Test
    void idThatIsNotTheVersion() {
        badThenRelist("id: 8\nevent: added\ndata: {\"version\":7,\"type\":\"added\",\"vm\":" + C + "}\n\n", true);
    }

    @Test
    void versionGap() {
        badThenRelist(change(8, "added", vm("vm_00000d", "10.0.0.4", "active")), false);
    }

    @Test
    void versionGoesBackwards() {
        badThenRelist(change(4, "removed", A), false);
    }

    @Test
    void repeatedVersion() {
        badThenRelist(change(6, "removed", A), false);
    }

    @Test
    void hugeLineIsCappedNotBuffered() {
        fake.scripts.add(Script.events(true, snapshot(5, A), "data: " + "x".repeat(200_000) + "\n\n",
            change(6, "added", B)));
        fake.scripts.add(Script.events(true, snapshot(9, A, C)));
        watch(WatchOptions.builder().maxEventBytes(64 * 1024));
        await().atMost(WAIT).until(() -> watch.view().version() == 9);
        assertThat(watch.malformedEvents()).isEqualTo(1);
        assertThat(watch.relists()).isEqualTo(1);
        assertThat(rec.views).noneMatch(v -> v.vms().containsKey("vm_00000b"));
    }

    @Test
    void eventsSplitAcrossWritesAndBatchedAreAppliedWhole() {
        StringBuilder all = new StringBuilder(snapshot(1));
        for (int i = 2; i <= 200; i++) {
            all.append(change(i, "added", vm(String.format("vm_%06x", i), "10.0." + (i / 250) + "." + (i % 250 + 1),
                "active")));
        }
        String s = all.toString();
        List<String> pieces = new java.util.ArrayList<>();
        for (int i = 0; i < s.length(); i += 37) {
            pieces.add(s.substring(i, Math.min(s.length(), i + 37)));
        }
        fake.scripts.add(new Script(200, pieces, true));
        watch();
        await().atMost(WAIT).until(() -> watch.view().version() == 200);
        assertThat(watch.view().vms()).hasSize(199);
        for (SwarmView v : rec.views) {
            assertThat(v.vms()).as("view %d holds exactly the VMs of versions 2..%d", v.version(), v.version())
                .hasSize((int) v.version() - 1);
        }
        assertThat(watch.malformedEvents()).isZero();
    }

    @Test
    void aFullSwarmSnapshotArrivesAsOneView() {
        String[] vms = new String[1999];
        for (int i = 0; i < vms.length; i++) {
            vms[i] = vm(String.format("vm_%06x", i + 1), "10.1." + (i / 250) + "." + (i % 250 + 1), "active");
        }
        String snap = snapshot(4000, vms);
        fake.scripts.add(Script.events(true, snap));
        watch();
        await().atMost(WAIT).until(() -> watch.view().version() == 4000);
        assertThat(watch.view().vms()).hasSize(1999);
        assertThat(rec.views).allSatisfy(v -> assertThat(v.vms()).hasSize(1999)); // never a partial list
        assertThat(snap.length()).as("about 0.5 MB on the wire").isBetween(300_000, 1_000_000);
    }

    @Test
    void drainingEventMarksTheVmDraining() {
        fake.scripts.add(Script.events(true, snapshot(5, A, B), change(6, "draining",
            vm("vm_00000b", "10.0.0.2", "draining")), change(7, "removed", A)));
        watch();
        await().atMost(WAIT).until(() -> watch.view().version() == 7);
        assertThat(watch.view().vms()).containsOnlyKeys("vm_00000b");
        assertThat(watch.view().vms().get("vm_00000b").state()).isEqualTo(VmInfo.State.DRAINING);
        assertThat(watch.view().vms().get("vm_00000b").active()).isFalse();
    }

    @Test
    void streamEndResumesWithSinceAndNoRelist() {
        fake.scripts.add(Script.events(false, snapshot(5, A), ": keep-alive\n\n"));
        fake.scripts.add(Script.events(true, "retry: 2000\n\n", change(6, "added", B)));
        watch();
        await().atMost(WAIT).until(() -> watch.view().version() == 6);
        assertThat(fake.watchRequests().get(1)).contains("/api/watch?since=5").contains("Last-Event-ID: 5");
        assertThat(watch.relists()).isZero();
        assertThat(watch.view().vms()).containsOnlyKeys("vm_00000a", "vm_00000b");
    }

    @Test
    void aServerThatAnswersAndHangsUpAtOnceIsRetriedWithBackoffNotInAHotLoop() {
        fake.endless = Script.events(false);
        watch(WatchOptions.builder().jitter(0));
        await().atMost(WAIT).until(() -> fake.watchNanos.size() >= 5);
        // 100 ms apart after the first immediate retry (initial = max = 100 ms here): at least 300 ms for 5
        assertThat(Duration.ofNanos(fake.watchNanos.get(4) - fake.watchNanos.get(0)))
            .isGreaterThanOrEqualTo(Duration.ofMillis(300));
        assertThat(watch.view()).isSameAs(SwarmView.EMPTY);
    }

    @Test
    void aSnapshotOnAResumeIsARelistThatReplacesTheView() {
        fake.scripts.add(Script.events(false, snapshot(5, A, B)));
        fake.scripts.add(Script.events(true, snapshot(8, C)));
        watch();
        await().atMost(WAIT).until(() -> watch.view().version() == 8);
        assertThat(fake.watchRequests().get(1)).contains("since=5");
        assertThat(watch.view().vms()).containsOnlyKeys("vm_00000c");
        assertThat(watch.relists()).isEqualTo(1);
        assertThat(watch.malformedEvents()).isZero();
    }

    @Test
    void aGenesisThatLostItsDataListsAtALowerVersionAndIsBelieved() {
        // Genesis started on an empty data dir: since=50 is in its future, so it sends its snapshot at version 2
        fake.scripts.add(Script.events(false, snapshot(50, A, B)));
        fake.scripts.add(Script.events(true, snapshot(2, C), change(3, "added", A)));
        watch();
        await().atMost(WAIT).until(() -> watch.view().version() == 3);
        assertThat(watch.view().vms()).containsOnlyKeys("vm_00000a", "vm_00000c");
        assertThat(rec.errors).singleElement().asString().startsWith("view version went back: 50 -> ");
        rec.errors.clear();
    }

    @Test
    void errorStatusIsStaleThenRecovers() {
        fake.scripts.add(Script.events(false, snapshot(5, A)));
        fake.scripts.add(new Script(503, List.of("{\"error\":\"busy\"}"), false));
        fake.scripts.add(new Script(503, List.of("{\"error\":\"busy\"}"), false));
        fake.scripts.add(Script.events(true, change(6, "added", B)));
        watch();
        await().atMost(WAIT).until(() -> watch.view().version() == 6);
        assertThat(rec.staleTrue()).isEqualTo(1);
        assertThat(rec.stale.get(0)).contains("503");
        await().atMost(WAIT).until(() -> rec.staleFalse() == 1);
        assertThat(watch.stale()).isFalse();
        assertThat(watch.view().vms()).hasSize(2);
        assertThat(watch.relists()).isZero();
    }

    @Test
    void silentStreamIsDroppedAfterTheReadTimeout() {
        fake.scripts.add(Script.events(true, snapshot(5, A)));
        fake.scripts.add(Script.events(true, change(6, "added", B)));
        watch(WatchOptions.builder().readTimeout(Duration.ofMillis(300)));
        await().atMost(WAIT).until(() -> watch.view().version() == 6);
        assertThat(fake.watchRequests().get(1)).contains("since=5");
        assertThat(rec.stale.get(0)).startsWith("true").contains("nothing received");
    }

    @Test
    void theReadTimeoutRunsOnTheGivenClock() {
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
        fake.scripts.add(Script.events(true, snapshot(5, A)));
        fake.scripts.add(Script.events(true, change(6, "added", B)));
        watch(WatchOptions.builder().readTimeout(Duration.ofMillis(200)).clock(now::get));
        await().atMost(WAIT).until(() -> watch.view().version() == 5);
        // a silent stream, but the clock stands still: no timeout however long the wall clock runs
        await().during(Duration.ofMillis(600)).atMost(WAIT).until(() -> fake.watchRequests().size() == 1);
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        await().atMost(WAIT).until(() -> watch.view().version() == 6);
        assertThat(fake.watchRequests().get(1)).contains("since=5");
    }

    @Test
    void portPlanIsExposedWhenGenesisServesIt() {
        fake.plan = "{\"kinds\":{\"pcpu\":{\"low\":10000,\"high\":19999},\"pfsshfs\":{\"low\":20000,\"high\":29999},"
            + "\"transfer\":{\"low\":30000,\"high\":31999}},\"max_vms\":1999,\"grace_ms\":60000,\"future\":1}";
        fake.scripts.add(Script.events(true, snapshot(5, A)));
        watch();
        await().atMost(WAIT).until(() -> watch.view().version() == 5);
        PortPlanInfo p = watch.view().portPlan().orElseThrow();
        assertThat(p.range("pcpu")).isEqualTo(new PortPlanInfo.Range(10000, 19999));
        assertThat(p.range("transfer").size()).isEqualTo(2000);
        assertThat(p.maxVms()).isEqualTo(1999);
        assertThat(p.graceMillis()).isEqualTo(60000);
        assertThat(rec.last().portPlan()).contains(p);
    }

    @Test
    void aBrokenPortPlanIsIgnoredAndTheWatchGoesOn() {
        fake.plan = "{\"kinds\": 3}";
        fake.scripts.add(Script.events(true, snapshot(5, A)));
        watch();
        await().atMost(WAIT).until(() -> watch.view().version() == 5);
        assertThat(watch.view().portPlan()).isEmpty();
    }

    @Test
    void aListenerMayCloseItsOwnWatchAndHearsNothingAfter() throws Exception {
        fake.scripts.add(Script.events(true, snapshot(5, A), change(6, "added", B)));
        java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger after = new java.util.concurrent.atomic.AtomicInteger();
        SwarmWatch[] self = new SwarmWatch[1];
        self[0] = SwarmWatch.start(List.of(fake.uri()), v -> {
            if (closed.getCount() == 0) {
                after.incrementAndGet();
                return;
            }
            long t0 = System.nanoTime();
            while (self[0] == null && System.nanoTime() - t0 < 5_000_000_000L) {
                Thread.onSpinWait();
            }
            self[0].close();
            closed.countDown();
        }, WatchOptions.builder().build());
        assertThat(closed.await(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(after.get()).isZero();
    }

    @Test
    void aListenerThatThrowsDoesNotStopTheWatch() {
        fake.scripts.add(Script.events(true, snapshot(5, A), change(6, "added", B)));
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        watch = SwarmWatch.start(List.of(fake.uri()), v -> {
            calls.incrementAndGet();
            throw new IllegalStateException("listener bug");
        }, WatchOptions.builder().build());
        await().atMost(WAIT).until(() -> watch.view().version() == 6);
        await().atMost(WAIT).until(() -> calls.get() >= 1);
    }
}
