package dev.planetary.registry.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.planetary.core.ports.PortPlan;
import dev.planetary.registry.state.Change.Type;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The state machine alone: time is an argument, no HTTP, no threads. */
class RegistryTest {

    private static final long S = 1_000_000_000L;
    private final Registry r = new Registry(Settings.defaults(), new Random(7));
    private long now = 1_000 * S;

    private static Registration reg(int cores, String instance) {
        return new Registration(null, cores, 1024, 10_000, Map.of("ssh", 22), Map.of(), instance);
    }

    /** Secrets the registrations returned, by VM id. */
    private final Map<String, String> secrets = new java.util.HashMap<>();

    private Vm add(String instance) throws Exception {
        Registry.Registered x = r.register(reg(2, instance), "127.0.0.1", now, 0);
        if (x.secret() != null) {
            secrets.put(x.vm().id(), x.secret());
        }
        return x.vm();
    }

    private Registry.Caller holder(Vm vm) {
        return new Registry.Caller("192.0.2.99", secrets.get(vm.id()));
    }

    @Test
    void registerGivesIdPortsAndAVersionedAddedChange() throws Exception {
        Registry.Registered a = r.register(reg(4, "i-1"), "10.0.0.1", now, 0);
        assertThat(a.created()).isTrue();
        assertThat(a.vm().id()).matches("vm_[0-9a-f]{6}");
        assertThat(PortPlan.DEFAULT.assignable(a.vm().ports().offset())).isTrue();
        assertThat(a.version()).isEqualTo(1);
        List<Change> p = r.pending();
        assertThat(p).extracting(Change::type).containsExactly(Type.ADDED);
        assertThat(r.view().totalCores()).isEqualTo(4);
    }

    @Test
    void sameInstanceKeyKeepsIdAndPortsAndOnlyRealChangesAreEvents() throws Exception {
        Vm a = add("i-1");
        r.pending();
        // with its secret (from anywhere): the same VM, no new secret
        Registry.Registered again = r.register(reg(2, "i-1"), "127.0.0.1", holder(a), now + S, 0);
        assertThat(again.created()).isFalse();
        assertThat(again.vm()).isEqualTo(a);
        assertThat(again.secret()).isNull();
        assertThat(r.pending()).as("nothing changed").isEmpty();
        Registry.Registered more = r.register(reg(8, "i-1"), "127.0.0.1", holder(a), now + 2 * S, 0);
        assertThat(more.vm().id()).isEqualTo(a.id());
        assertThat(more.vm().ports()).isEqualTo(a.ports());
        assertThat(r.pending()).extracting(Change::type).containsExactly(Type.UPDATED);
    }

    @Test
    void expiresAfterTtlWithoutHeartbeatsAndKeepsPortsForTheGracePeriod() throws Exception {
        Vm a = add("i-1");
        Vm b = add("i-2");
        Vm c = add("i-3");
        r.pending();
        now += 10 * S;
        assertThat(r.heartbeat(b.id(), 0.5, 20, now)).isNotNull();
        assertThat(r.heartbeat(c.id(), Double.NaN, Double.NaN, now)).isNotNull();
        now += 6 * S; // a: 16 s silent > TTL 15 s
        r.tick(now);
        List<Change> p = r.pending();
        assertThat(p).extracting(Change::type).containsExactly(Type.REMOVED);
        assertThat(p.get(0).vm().id()).isEqualTo(a.id());
        assertThat(p.get(0).reason()).isEqualTo("expired");
        assertThat(r.heartbeat(a.id(), Double.NaN, Double.NaN, now)).as("404 for the VM").isNull();
        // back within the grace period with its instance key: same id and ports
        Registry.Registered back = r.register(reg(2, "i-1"), "127.0.0.1", now + 30 * S, 0);
        assertThat(back.vm().id()).isEqualTo(a.id());
        assertThat(back.vm().ports()).isEqualTo(a.ports());
    }

    @Test
    void aHeartbeatOnAnOlderViewIsRefusedOnceTheVmExpired() throws Exception {
        Vm a = add("i-1");
        add("i-2");
        View before = r.view();
        now += 16 * S;
        r.heartbeat(before.vms().keySet().stream().filter(id -> !id.equals(a.id())).findFirst().orElseThrow(),
            Double.NaN, Double.NaN, now);
        r.tick(now);
        assertThat(r.view().vms()).doesNotContainKey(a.id());
        assertThat(before.heartbeat(a.id(), Double.NaN, Double.NaN, now))
            .as("the HTTP path reads a view published before the expiry: still 404").isNull();
    }

    @Test
    void heartbeatsRacingExpiryEitherKeepTheVmOrAreRefused() throws Exception {
        // lapsed VMs, heartbeats from another thread on the published view while the owner ticks: each VM ends
        // either kept (its heartbeat won) or removed (its heartbeat was refused), never removed after a 200
        Settings many = new Settings(Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ZERO, Duration.ZERO);
        for (int round = 0; round < 20; round++) {
            Registry reg = new Registry(many, new Random(round));
            long t = 1_000 * S;
            for (int i = 0; i < 1_900; i++) {
                reg.register(reg(1, "r" + i), "127.0.0.1", t, 0);
            }
            View v = reg.view();
            List<String> all = List.copyOf(v.vms().keySet());
            long later = t + 16 * S;
            // two thirds heartbeat in time (no self-preservation); the last third lapsed and racing the tick
            for (String id : all.subList(0, 1_300)) {
                v.heartbeat(id, Double.NaN, Double.NaN, later);
            }
            List<String> ids = all.subList(1_300, all.size());
            boolean[] kept = new boolean[ids.size()];
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            Thread beats = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = ids.size() - 1; i >= 0; i--) {
                    kept[i] = v.heartbeat(ids.get(i), Double.NaN, Double.NaN, later) != null;
                }
            });
            beats.start();
            go.countDown();
            reg.tick(later);
            beats.join(10_000);
            reg.tick(later);
            for (int i = 0; i < ids.size(); i++) {
                assertThat(reg.view().vms().containsKey(ids.get(i))).as("VM %s, heartbeat answered %s", ids.get(i),
                    kept[i] ? 200 : 404).isEqualTo(kept[i]);
            }
        }
    }

    @Test
    void aSingleVmStillExpires() throws Exception {
        add("only");
        r.pending();
        r.tick(now + 16 * S);
        assertThat(r.pending()).extracting(Change::type).containsExactly(Type.REMOVED);
        assertThat(r.selfPreservation()).isFalse();
    }

    @Test
    void selfPreservationWhenMoreThanHalfLapseWithinOneTtl() throws Exception {
        Vm[] vms = new Vm[10];
        for (int i = 0; i < 10; i++) {
            vms[i] = add("i-" + i);
        }
        r.pending();
        now += 16 * S;
        for (int i = 0; i < 4; i++) {
            r.heartbeat(vms[i].id(), Double.NaN, Double.NaN, now);
        }
        r.tick(now); // 6 of 10 lapsed
        assertThat(r.selfPreservation()).isTrue();
        assertThat(r.pending()).isEmpty();
        assertThat(r.view().vms()).hasSize(10);
        assertThat(r.view().selfPreservation()).isTrue();
        assertThat(r.view().lapsed()).isEqualTo(6);
        // heartbeats come back: the registry leaves self-preservation, nothing was lost
        now += S;
        for (Vm vm : vms) {
            r.heartbeat(vm.id(), Double.NaN, Double.NaN, now);
        }
        r.tick(now);
        assertThat(r.selfPreservation()).isFalse();
        assertThat(r.view().vms()).hasSize(10);
    }

    @Test
    void aMinorityLapsingExpiresButAMajorityWithinTheWindowStops() throws Exception {
        Vm[] vms = new Vm[6];
        for (int i = 0; i < 6; i++) {
            vms[i] = add("i-" + i);
        }
        r.pending();
        now += 16 * S;
        for (int i = 2; i < 6; i++) {
            r.heartbeat(vms[i].id(), Double.NaN, Double.NaN, now);
        }
        r.tick(now); // 2 of 6 lapse: expire
        assertThat(r.pending()).hasSize(2);
        now += 5 * S;
        r.heartbeat(vms[5].id(), Double.NaN, Double.NaN, now);
        now += 12 * S; // vms 2..4 lapsed now; with the 2 expired in this window: 5 of 6
        r.heartbeat(vms[5].id(), Double.NaN, Double.NaN, now);
        r.tick(now);
        assertThat(r.selfPreservation()).isTrue();
        assertThat(r.pending()).isEmpty();
    }

    @Test
    void leaveDrainsThenRemoves() throws Exception {
        Vm a = add("i-1");
        r.pending();
        Vm d = r.leave(a.id(), now);
        assertThat(d.status()).isEqualTo(Vm.Status.DRAINING);
        assertThat(r.leave(a.id(), now)).as("idempotent").isNotNull();
        assertThat(r.pending()).extracting(Change::type).containsExactly(Type.DRAINING);
        r.tick(now + 9 * S);
        assertThat(r.pending()).isEmpty();
        r.tick(now + 10 * S);
        assertThat(r.pending()).extracting(Change::type).containsExactly(Type.REMOVED);
        assertThat(r.leave(a.id(), now)).isNull();
    }

    @Test
    void versionsStrictlyIncrease() throws Exception {
        Vm a = add("i-1");
        add("i-2");
        r.leave(a.id(), now);
        r.tick(now + 20 * S);
        List<Change> p = r.pending();
        for (int i = 0; i < p.size(); i++) {
            assertThat(p.get(i).version()).isEqualTo(i + 1);
        }
        assertThat(r.version()).isEqualTo(p.size());
    }

    @Test
    void fullRangeIsRefusedWithAClearMessageAndNothingChanges() throws Exception {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < PortPlan.DEFAULT.maxVms(); i++) {
            ids.add(add(null).id());
        }
        assertThat(ids).hasSize(1999);
        long v = r.version();
        r.pending();
        assertThatThrownBy(() -> add(null)).isInstanceOf(Registry.RangeFullException.class)
            .hasMessage("port range full: transfer 30001-31999 has no free port (1,999 VMs hold ports)");
        assertThat(r.version()).isEqualTo(v);
        assertThat(r.pending()).isEmpty();
    }

    @Test
    void graceBlocksReuseUntilItPasses() throws Exception {
        Settings s = new Settings(Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ZERO, Duration.ofSeconds(60));
        Registry small = new Registry(s, new Random(1));
        for (int i = 0; i < PortPlan.DEFAULT.maxVms(); i++) {
            small.register(reg(1, null), "127.0.0.1", now, 0);
        }
        String leaving = small.view().vms().keySet().iterator().next();
        small.leave(leaving, now);
        small.tick(now);
        assertThatThrownBy(() -> small.register(reg(1, null), "127.0.0.1", now + 59 * S, 0))
            .hasMessageContaining("in their grace period");
        small.tick(now + 61 * S);
        assertThat(small.register(reg(1, null), "127.0.0.1", now + 61 * S, 0).created()).isTrue();
    }

    @Test
    void restoreAndReplayRebuildTheSameState() throws Exception {
        Vm a = add("i-1");
        Vm b = add("i-2");
        r.leave(b.id(), now);
        r.tick(now + 11 * S);
        List<Change> log = r.pending();
        Registry again = new Registry(Settings.defaults(), new Random(9));
        again.restore(0, List.of(), List.of(), now);
        for (Change c : log) {
            again.replay(c, now);
        }
        assertThat(again.version()).isEqualTo(r.version());
        assertThat(again.vms()).containsExactly(a);
        // b's ports are still reserved for its instance key
        Registry.Registered back = again.register(reg(2, "i-2"), "127.0.0.1", now, 0);
        assertThat(back.vm().id()).isEqualTo(b.id());
        assertThat(back.vm().ports()).isEqualTo(b.ports());
        assertThat(back.version()).isEqualTo(r.version() + 1);
    }

    // ---- issue 11: reservations in one table, every release logged ----

    @Test
    void restartAfterASlotWasReusedAtCapacityRebuildsTheSameState() throws Exception {
        // ran at its cap, removed one VM, gave the freed slot to a new VM after the grace period: replaying that log
        // used to re-reserve the old VM's slot and refuse with "taken by another VM (corrupt data?)"
        Settings s = new Settings(Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ZERO, Duration.ofSeconds(60));
        Registry live = new Registry(s, new Random(1));
        for (int i = 0; i < PortPlan.DEFAULT.maxVms(); i++) {
            live.register(reg(1, null), "127.0.0.1", now, 0);
        }
        Vm leaving = live.view().vms().values().iterator().next();
        live.leave(leaving.id(), now);
        live.tick(now);
        Vm reused = live.register(reg(1, null), "127.0.0.1", now + 61 * S, 0).vm();
        assertThat(reused.ports().transfer()).as("the only free transfer port").isEqualTo(leaving.ports().transfer());
        List<Change> log = live.pending();
        assertThat(log.get(log.size() - 2).type()).isEqualTo(Type.RELEASED);
        assertThat(log.get(log.size() - 2).reason()).isEqualTo(Change.GRACE_EXPIRED);
        assertThat(log.get(log.size() - 2).released().ports()).isEqualTo(leaving.ports());
        Registry again = new Registry(s, new Random(2));
        again.restore(0, List.of(), List.of(), now + 62 * S);
        for (Change c : log) {
            again.replay(c, now + 62 * S);
        }
        assertThat(again.vms()).isEqualTo(live.vms());
        assertThat(again.version()).isEqualTo(live.version());
        assertThat(again.reservationTable()).isEqualTo(live.reservationTable());
    }

    @Test
    void anInstanceBackAfterItsSlotWasReusedGetsRangeFullNotAVmWithoutPorts() throws Exception {
        // the grace passed and another VM took the slot before a tick swept it: the table used to free it while the
        // registry still mapped the instance key to the old id, which then came back with null ports (and a
        // NullPointerException in the writer when the change was logged)
        Settings s = new Settings(Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ZERO, Duration.ofSeconds(60));
        Registry small = new Registry(s, new Random(1));
        for (int i = 0; i < PortPlan.DEFAULT.maxVms(); i++) {
            small.register(reg(1, "i-" + i), "127.0.0.1", now, 0);
        }
        Vm leaving = small.view().vms().values().iterator().next();
        small.leave(leaving.id(), now);
        small.tick(now);
        small.pending();
        long later = now + 61 * S;
        small.register(reg(1, null), "127.0.0.1", later, 0); // no tick in between
        assertThatThrownBy(() -> small.register(reg(1, leaving.instance()), "127.0.0.1", later, 0))
            .isInstanceOf(Registry.RangeFullException.class).hasMessageContaining("1,999 VMs hold ports");
        assertThat(small.pending()).extracting(Change::type).containsExactly(Type.RELEASED, Type.ADDED);
        // with room again it gets a new id and new ports, as any new VM
        Vm other = small.view().vms().values().iterator().next();
        small.leave(other.id(), later);
        small.tick(later + 61 * S);
        Registry.Registered back = small.register(reg(1, leaving.instance()), "127.0.0.1", later + 61 * S, 0);
        assertThat(back.created()).isTrue();
        assertThat(back.vm().id()).isNotEqualTo(leaving.id());
        assertThat(back.vm().ports()).isNotNull();
    }

    @Test
    void graceExpiryIsAReleasedChangeWithTheNextVersion() throws Exception {
        Vm a = add("i-1");
        r.leave(a.id(), now);
        r.tick(now + 10 * S); // drained: removed, ports in grace for 60 s
        r.tick(now + 69 * S);
        assertThat(r.pending()).extracting(Change::type).containsExactly(Type.ADDED, Type.DRAINING, Type.REMOVED);
        r.tick(now + 70 * S);
        List<Change> p = r.pending();
        assertThat(p).hasSize(1);
        Change c = p.get(0);
        assertThat(c.type()).isEqualTo(Type.RELEASED);
        assertThat(c.version()).isEqualTo(4);
        assertThat(c.released()).isEqualTo(new Released(a.id(), "i-1", a.ports(), a.ip(), a.secretHash()));
        assertThat(r.view().ports()).isEmpty();
        // the instance key is forgotten with the reservation: a new id
        assertThat(r.register(reg(2, "i-1"), "127.0.0.1", now + 71 * S, 0).vm().id()).isNotEqualTo(a.id());
    }

    @Test
    void aSmallPlanCapsAtItsSmallestRange() throws Exception {
        PortPlan plan = PortPlan.parse("pcpu=40000-40009,pfsshfs=41000-41006,transfer=42000-42005");
        Registry small = new Registry(Settings.defaults(), plan, new Random(3));
        for (int i = 0; i < 5; i++) {
            Vm vm = small.register(reg(1, null), "127.0.0.1", now, 0).vm();
            assertThat(vm.ports()).isEqualTo(plan.ports(vm.ports().offset()));
        }
        assertThatThrownBy(() -> small.register(reg(1, null), "127.0.0.1", now, 0))
            .hasMessage("port range full: transfer 42001-42005 has no free port (5 VMs hold ports)");
    }
}
