package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.core.backend.Server;
import dev.planetary.proxy.swarm.FakeGenesis;
import dev.planetary.proxy.swarm.Routes;
import dev.planetary.proxy.swarm.VmServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.registry.client.PortPlanInfo;
import dev.planetary.registry.client.Reservation;
import dev.planetary.registry.client.SwarmView;
import dev.planetary.registry.client.VmInfo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@link Discovery#apply} driven view by view with the time as an argument (no waiting for a grace period): the
 * watch follows a scripted Genesis that never changes, so every view here is one the test hands over.
 */
class DiscoveryApplyTest {

    private static final int PORTS = 10;
    private static final long GRACE_MS = 60_000;

    private final java.util.concurrent.atomic.AtomicLong clock = new java.util.concurrent.atomic.AtomicLong();
    private FakeGenesis genesis;
    private Proxy proxy;
    private Discovery discovery;
    private VmServer a;
    private VmServer b;
    private VmServer c;
    private int low;

    @BeforeEach
    void setUp() throws Exception {
        low = Ports.pcpuRun(PORTS);
        a = VmServer.start("a", "127.0.0.71");
        b = VmServer.start("b", "127.0.0.72");
        c = VmServer.start("c", "127.0.0.73");
        genesis = FakeGenesis.start(0);
        proxy = Harness.start("""
            global
                maxconn 100
                nbthread 1
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            genesis g
                url %s
            listen pcpu
                bind 127.0.0.1:%d-%d
                balance roundrobin
                server static 127.0.0.1:1 disabled
                discover genesis g service pcpu
                pin-ports pcpu
            """.formatted(genesis.url(), low, low + PORTS - 1));
        Discovery own = proxy.discovery("g");
        await().atMost(Duration.ofSeconds(10)).until(() -> own.viewsApplied() >= 1); // the empty snapshot
        // From here on the backend is driven by a Discovery on the test's clock, view by view: the proxy's own one
        // stops watching (after applying whatever it had already been handed).
        own.watch().close();
        own.onOwner(() -> { });
        discovery = new Discovery(proxy.config().genesis("g").orElseThrow(), proxy, clock::get);
    }

    @AfterEach
    void tearDown() {
        discovery.close();
        proxy.close();
        genesis.close();
        a.close();
        b.close();
        c.close();
    }

    private VmInfo vm(VmServer s, String id, int port, VmInfo.State state) {
        return new VmInfo(id, null, s.ip(), Map.of("pcpu", s.port()), Map.of("pcpu", port), state);
    }

    private SwarmView view(long version, VmInfo... vms) {
        Map<String, VmInfo> m = new LinkedHashMap<>();
        for (VmInfo v : vms) {
            m.put(v.id(), v);
        }
        PortPlanInfo plan = new PortPlanInfo(Map.of("pcpu", new PortPlanInfo.Range(low, low + PORTS - 1)), 9, GRACE_MS);
        return SwarmView.of(version, m, plan);
    }

    /** A view from a Genesis that lists its reservations in grace (the snapshot's {@code grace}). */
    private SwarmView view(long version, List<Reservation> reserved, VmInfo... vms) {
        Map<String, VmInfo> m = new LinkedHashMap<>();
        for (VmInfo v : vms) {
            m.put(v.id(), v);
        }
        Map<String, Reservation> r = new LinkedHashMap<>();
        reserved.forEach(x -> r.put(x.id(), x));
        PortPlanInfo plan = new PortPlanInfo(Map.of("pcpu", new PortPlanInfo.Range(low, low + PORTS - 1)), 9, GRACE_MS);
        return SwarmView.of(version, m, r, plan);
    }

    private Reservation reserved(String id, int port) {
        return new Reservation(id, id + "-inst", port - low, Map.of("pcpu", port));
    }

    /** The clock moves to {@code nowNanos} (the grace timer reads it too), then the view is applied. */
    private void apply(SwarmView v, long nowNanos) {
        clock.set(nowNanos);
        discovery.onOwner(() -> discovery.apply(v, nowNanos));
    }

    private List<String> servers() {
        return proxy.backend("pcpu").servers().stream().map(Server::name).toList();
    }

    @Test
    void aGoneVmsPortStaysClosedForTheGracePeriodThenIsBalancedAndANewHolderWinsAtOnce() {
        long t0 = 1_000_000_000L;
        apply(view(1, vm(a, "vm_a", low + 1, VmInfo.State.ACTIVE), vm(b, "vm_b", low + 2, VmInfo.State.ACTIVE)), t0);
        assertThat(servers()).containsExactlyInAnyOrder("static", "vm_a", "vm_b");
        assertThat(Routes.who(low + 2)).isEqualTo("b");

        apply(view(2, vm(a, "vm_a", low + 1, VmInfo.State.ACTIVE)), t0);
        assertThat(servers()).containsExactlyInAnyOrder("static", "vm_a");
        assertThat(Routes.who(low + 2)).as("b gone, in grace").isNull();

        long almost = t0 + TimeUnit.MILLISECONDS.toNanos(GRACE_MS) - 1;
        apply(view(2, vm(a, "vm_a", low + 1, VmInfo.State.ACTIVE)), almost);
        assertThat(Routes.who(low + 2)).as("one nanosecond before the grace ends").isNull();
        apply(view(2, vm(a, "vm_a", low + 1, VmInfo.State.ACTIVE)), almost + 1);
        assertThat(Routes.who(low + 2)).as("grace over: balanced (to a, the only usable server)").isEqualTo("a");

        // b leaves again and c takes a port b held while b is in grace: the holder wins at once
        apply(view(3, vm(a, "vm_a", low + 1, VmInfo.State.ACTIVE), vm(b, "vm_b", low + 3, VmInfo.State.ACTIVE)),
            almost + 2);
        apply(view(4, vm(a, "vm_a", low + 1, VmInfo.State.ACTIVE)), almost + 3);
        assertThat(Routes.who(low + 3)).isNull();
        apply(view(5, vm(a, "vm_a", low + 1, VmInfo.State.ACTIVE), vm(c, "vm_c", low + 3, VmInfo.State.ACTIVE)),
            almost + 4);
        assertThat(Routes.who(low + 3)).isEqualTo("c");
    }

    @Test
    void aProxyThatStartsAfterTheRemovalRefusesTheReservedPortUntilGenesisReleasesIt() {
        // The gap this closes: b was removed before this proxy listed the swarm. Genesis still reserves b's port, so
        // it must not be balanced to a (an ssh client asking for b would land on a), however long the proxy waits.
        long t0 = 2_000_000_000L;
        VmInfo va = vm(a, "vm_a", low + 1, VmInfo.State.ACTIVE);
        apply(view(7, List.of(reserved("vm_b", low + 2)), va), t0);
        assertThat(servers()).containsExactlyInAnyOrder("static", "vm_a");
        long refused = proxy.frontend("pcpu").pinRefusedCount();
        assertThat(Routes.who(low + 2)).as("reserved by Genesis: closed").isNull();
        assertThat(proxy.frontend("pcpu").pinRefusedCount()).isEqualTo(refused + 1);
        assertThat(Routes.who(low + 3)).as("a port nobody holds: balanced").isEqualTo("a");

        long muchLater = t0 + TimeUnit.MILLISECONDS.toNanos(GRACE_MS) * 10;
        apply(view(7, List.of(reserved("vm_b", low + 2)), va), muchLater);
        assertThat(Routes.who(low + 2)).as("no local timer: closed while Genesis reserves it").isNull();

        apply(view(8, List.of(), va), muchLater + 1); // `released`
        assertThat(Routes.who(low + 2)).as("released: balanced").isEqualTo("a");
    }

    @Test
    void aRemovedVmsPortFollowsGenesisReservationNotTheLocalClock() {
        long t0 = 3_000_000_000L;
        VmInfo va = vm(a, "vm_a", low + 1, VmInfo.State.ACTIVE);
        VmInfo vb = vm(b, "vm_b", low + 2, VmInfo.State.ACTIVE);
        apply(view(1, List.of(), va, vb), t0);
        assertThat(Routes.who(low + 2)).isEqualTo("b");
        apply(view(2, List.of(reserved("vm_b", low + 2)), va), t0); // removed: into grace
        assertThat(Routes.who(low + 2)).isNull();
        long pastGrace = t0 + TimeUnit.MILLISECONDS.toNanos(GRACE_MS) + 1;
        apply(view(2, List.of(reserved("vm_b", low + 2)), va), pastGrace);
        assertThat(Routes.who(low + 2)).as("the plan's grace_ms passed, Genesis still reserves it: closed").isNull();
        // b comes back with its instance key within grace: same id and port, its reservation is held again
        apply(view(3, List.of(), va, vb), pastGrace + 1);
        assertThat(Routes.who(low + 2)).isEqualTo("b");
        apply(view(4, List.of(reserved("vm_b", low + 2)), va), pastGrace + 2);
        apply(view(5, List.of(), va), pastGrace + 3); // released
        assertThat(Routes.who(low + 2)).as("released: balanced").isEqualTo("a");
        // a reserved port that a VM holds goes to the VM (Genesis never does this; the holder wins anyway)
        apply(view(6, List.of(reserved("vm_x", low + 3)), va, vm(c, "vm_c", low + 3, VmInfo.State.ACTIVE)),
            pastGrace + 4);
        assertThat(Routes.who(low + 3)).isEqualTo("c");
    }

    @Test
    void whileStaleNothingIsRemovedAndTheHeldRemovalsHappenWhenGenesisAnswersAgain() {
        long t0 = 5_000_000_000L;
        apply(view(1, vm(a, "vm_a", low + 1, VmInfo.State.ACTIVE), vm(b, "vm_b", low + 2, VmInfo.State.ACTIVE)), t0);
        clock.set(t0);
        discovery.onOwner(() -> discovery.staleChanged(true, "test: unreachable", t0));
        assertThat(discovery.stale()).isTrue();

        apply(view(2, vm(a, "vm_a", low + 1, VmInfo.State.ACTIVE)), t0 + 1);
        assertThat(servers()).as("stale: b is kept").containsExactlyInAnyOrder("static", "vm_a", "vm_b");
        assertThat(discovery.heldRemovals()).isEqualTo(1);
        assertThat(Routes.who(low + 2)).isEqualTo("b");

        clock.set(t0 + 2);
        discovery.onOwner(() -> discovery.staleChanged(false, "test: back", t0 + 2));
        assertThat(discovery.stale()).isFalse();
        assertThat(discovery.staleEpisodes()).isEqualTo(1);
        assertThat(servers()).containsExactlyInAnyOrder("static", "vm_a");
        assertThat(discovery.heldRemovals()).isZero();
        assertThat(Routes.who(low + 2)).isNull();
    }

    @Test
    void aViewThatChangesNothingForTheBackendLeavesItsServersAsTheyAre() {
        long t0 = 9_000_000_000L;
        VmInfo va = vm(a, "vm_a", low + 1, VmInfo.State.ACTIVE);
        apply(view(1, va), t0);
        List<Server> before = proxy.backend("pcpu").servers();
        // another VM without the pcpu service, and a new version: nothing for this backend
        VmInfo other = new VmInfo("vm_x", null, "127.0.0.99", Map.of("ssh", 22), Map.of(), VmInfo.State.ACTIVE);
        apply(view(2, va, other), t0 + 1);
        assertThat(proxy.backend("pcpu").servers()).isSameAs(before);
        assertThat(discovery.version()).isEqualTo(2);
        assertThat(discovery.vmCount()).isEqualTo(2);
    }
}
