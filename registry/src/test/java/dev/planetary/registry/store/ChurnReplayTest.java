package dev.planetary.registry.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.ports.PortPlan;
import dev.planetary.core.ports.Reservations.Reservation;
import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Registration;
import dev.planetary.registry.state.Registry;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.state.Vm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Logs produced under churn at capacity replay to the live state (issue 11): random registrations (new VMs and
 * returning instance keys), leaves, missed heartbeats, expiry, drains, grace periods passing and freed slots reused,
 * written through the real {@link Store} with snapshots at random points; every so often the registry "restarts"
 * from the data dir and the rebuilt state must equal the live one (VMs, the whole reservation table, the version),
 * after which the rebuilt registry carries on as the live one.
 */
class ChurnReplayTest {

    private static final long S = 1_000_000_000L;

    @TempDir
    Path dir;

    /** What a restart must rebuild: reservations compared without their grace deadlines (a restart renews them). */
    private record Row(String id, String instance, PortPlan.Ports ports, String state) {
    }

    private static List<Row> table(Registry r) {
        List<Row> out = new ArrayList<>();
        for (Reservation x : r.reservationTable()) {
            out.add(new Row(x.id(), x.instance(), x.ports(), x.state().wire()));
        }
        return out;
    }

    @ParameterizedTest(name = "{0}, {1} seeds x {2} steps")
    @CsvSource(delimiter = '|', value = {
        "pcpu=40000-40009,pfsshfs=41000-41006,transfer=42000-42005 | 15 | 1500",
        "pcpu=40000-40063,pfsshfs=41000-41020,transfer=42000-42012 | 8  | 2000",
        "pcpu=10000-19999,pfsshfs=20000-29999,transfer=30000-31999 | 1  | 9000",
    })
    void replayOfLogsWrittenUnderChurnAtCapacityRebuildsTheLiveState(String spec, int seeds, int steps)
        throws Exception {
        PortPlan plan = PortPlan.parse(spec);
        Settings settings = new Settings(Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(2),
            Duration.ofSeconds(20));
        int restarts = 0;
        int full = 0;
        int released = 0;
        int reclaimed = 0;
        for (int seed = 0; seed < seeds; seed++) {
            Random rnd = new Random(seed * 7919L + spec.hashCode());
            Path data = dir.resolve("seed-" + seed);
            Store store = Store.open(data);
            store.recover();
            Registry live = new Registry(settings, plan, new Random(seed));
            long now = 1_000 * S;
            long lastVersion = 0;
            // more instance keys than slots, so some come back within their grace period and some find it full
            int keys = plan.maxVms() + plan.maxVms() / 2 + 3;
            int snapshotEvery = 20 + rnd.nextInt(200);
            try {
                // start full: the interesting cases (refusals, reuse of a freed slot) happen at capacity
                for (int i = 0; i < plan.maxVms(); i++) {
                    live.register(new Registration(null, 1, 0, 0, Map.of(), Map.of(), i % 3 == 0 ? null : "i-" + i),
                        "127.0.0.1", now, now / 1_000_000);
                }
                for (int step = 0; step < steps; step++) {
                    int op = rnd.nextInt(100);
                    List<Vm> vms = live.vms();
                    if (op < (vms.size() < plan.maxVms() ? 60 : 30)) {
                        String instance = rnd.nextInt(4) == 0 ? null : "i-" + rnd.nextInt(keys);
                        try {
                            Registry.Registered reg = live.register(new Registration(null, 1 + rnd.nextInt(4), 0, 0,
                                Map.of(), Map.of(), instance), "127.0.0.1", now, now / 1_000_000);
                            if (!reg.created() && reg.version() == live.version() && instance != null) {
                                reclaimed++;
                            }
                        } catch (Registry.RangeFullException e) {
                            full++;
                        }
                    } else if (op < 70 && !vms.isEmpty()) {
                        live.leave(vms.get(rnd.nextInt(vms.size())).id(), now);
                    } else if (op < 85) {
                        for (Vm vm : vms) {
                            if (rnd.nextInt(10) < 8) {
                                live.heartbeat(vm.id(), Double.NaN, Double.NaN, now);
                            }
                        }
                    } else if (op < 98) {
                        now += rnd.nextInt(9) * S;
                        live.tick(now);
                    } else {
                        restarts++;
                        store.close();
                        store = Store.open(data);
                        Registry back = rebuild(store.recover(), settings, plan, seed * 31L + step, now);
                        assertSame(back, live, seed, step);
                        live = back;
                    }
                    List<Change> changes = live.pending();
                    for (Change c : changes) {
                        assertThat(c.version()).as("seed %d step %d: versions strictly +1", seed, step)
                            .isEqualTo(lastVersion + 1);
                        lastVersion = c.version();
                        if (c.type() == Change.Type.RELEASED) {
                            released++;
                        }
                    }
                    store.append(changes); // no fsync: what is written is read back either way
                    if (store.logRecords() >= snapshotEvery) {
                        store.snapshot(live.version(), live.vms(), live.reservations());
                    }
                }
                store.close();
                store = Store.open(data);
                assertSame(rebuild(store.recover(), settings, plan, seed, now), live, seed, steps);
            } finally {
                store.close();
            }
        }
        assertThat(restarts).as("restarts exercised").isPositive();
        assertThat(full).as("registrations refused at capacity").isPositive();
        assertThat(released).as("grace periods that passed").isPositive();
        assertThat(reclaimed).as("instances back within their grace period").isPositive();
    }

    /** As Genesis starts: the snapshot, then the log. */
    private static Registry rebuild(Store.Recovered rec, Settings settings, PortPlan plan, long seed, long now) {
        Registry r = new Registry(settings, plan, new Random(seed));
        r.restore(rec.snapshotVersion(), rec.vms(), rec.released(), now);
        for (Change c : rec.log()) {
            r.replay(c, now);
        }
        assertThat(r.pending()).as("replay emits nothing").isEmpty();
        return r;
    }

    private static void assertSame(Registry back, Registry live, int seed, int step) {
        assertThat(back.version()).as("seed %d step %d: version", seed, step).isEqualTo(live.version());
        assertThat(back.vms()).as("seed %d step %d: VMs", seed, step).isEqualTo(live.vms());
        assertThat(table(back)).as("seed %d step %d: reservations", seed, step).isEqualTo(table(live));
    }
}
