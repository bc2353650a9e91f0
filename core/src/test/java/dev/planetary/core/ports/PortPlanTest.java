package dev.planetary.core.ports;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.planetary.core.ports.PortPlan.Ports;
import dev.planetary.core.ports.Reservations.Reservation;
import dev.planetary.core.ports.Reservations.State;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class PortPlanTest {

    private static final long SEC = 1_000_000_000L;

    private static Reservations table() {
        return new Reservations(PortPlan.DEFAULT);
    }

    @Test
    void homeOffsetIsTheSeedsHash() {
        // the seed's example: int('abc123', 16) % 10000 = 11256099 % 10000 = 6099
        assertThat(PortPlan.DEFAULT.homeOffset("vm_abc123")).isEqualTo(6099);
        Ports p = table().reserve("vm_abc123", null);
        assertThat(p.pcpu()).isEqualTo(16099);
        assertThat(p.pfsshfs()).isEqualTo(26099);
        assertThat(p.transfer()).isEqualTo(30099);
    }

    @Test
    void theDefaultPlanIsTheSeedsFormulaForEveryOffset() {
        PortPlan d = PortPlan.DEFAULT;
        assertThat(d.offsets()).isEqualTo(10_000);
        assertThat(d.maxVms()).isEqualTo(1_999);
        assertThat(d.limiting()).isEqualTo(PortKind.TRANSFER);
        for (int o = 0; o < 10_000; o++) {
            assertThat(d.assignable(o)).as("offset %d", o).isEqualTo(o > 0 && o % 2000 != 0);
            if (d.assignable(o)) {
                assertThat(d.ports(o)).isEqualTo(new Ports(o, 10_000 + o, 20_000 + o, 30_000 + o % 2000));
            }
        }
    }

    @Test
    void collidingHashesProbeToTheNextFreeOffsetIncludingTheTransferSlot() {
        Reservations plan = table();
        Ports a = plan.reserve("vm_000001", null);       // home 1
        Ports b = plan.reserve("vm_002711", null);       // 0x2711 = 10001 -> home 1: taken, probe to 2
        Ports c = plan.reserve("vm_0007d3", null);       // 0x7d3 = 2003 -> home 2003, transfer slot 3
        Ports d = plan.reserve("vm_0007d1", null);       // 2001: slot 1 held by offset 1 -> 2002 (slot 2 held) -> 2004
        assertThat(a.offset()).isEqualTo(1);
        assertThat(b.offset()).isEqualTo(2);
        assertThat(c.offset()).isEqualTo(2003);
        assertThat(d.offset()).isEqualTo(2004);
        assertThat(Set.of(a.transfer(), b.transfer(), c.transfer(), d.transfer())).hasSize(4);
    }

    @Test
    void entranceOffsetsAreNeverAssigned() {
        Reservations plan = table();
        assertThat(plan.reserve("vm_000000", null).offset()).isEqualTo(1);      // home 0 -> 1
        assertThat(plan.reserve("vm_0007d0", null).offset()).isEqualTo(2002);   // home 2000 (slot 0), 2001 (slot 1 held) -> 2002
        assertThat(plan.reserve("vm_002710", null).offset()).isEqualTo(3);      // 10000 % 10000 = 0 -> 1, 2 (slot held) -> 3
    }

    @Test
    void fillsExactly1999VmsWithDistinctPortsThenRefuses() {
        Reservations plan = table();
        Set<Integer> pcpu = new HashSet<>();
        Set<Integer> pfs = new HashSet<>();
        Set<Integer> transfer = new HashSet<>();
        for (int i = 0; i < PortPlan.DEFAULT.maxVms(); i++) {
            Ports p = plan.reserve(String.format("vm_%06x", i * 7919 % 0xffffff), null);
            assertThat(p).as("vm %d", i).isNotNull();
            assertThat(PortPlan.DEFAULT.assignable(p.offset())).isTrue();
            assertThat(pcpu.add(p.pcpu())).isTrue();
            assertThat(pfs.add(p.pfsshfs())).isTrue();
            assertThat(transfer.add(p.transfer())).isTrue();
        }
        assertThat(transfer).doesNotContain(30_000).allMatch(t -> t > 30_000 && t <= 31_999);
        assertThat(plan.size()).isEqualTo(1999);
        assertThat(plan.reserve("vm_ffffff", null)).isNull();
    }

    @Test
    void releasedOffsetIsReusedOnlyOnceItsExpiryIsTaken() {
        Reservations plan = table();
        for (int i = 0; i < PortPlan.DEFAULT.maxVms(); i++) {
            assertThat(plan.reserve(String.format("vm_%06x", i + 1), "i-" + i)).isNotNull();
        }
        Ports old = plan.get("vm_000005").ports();
        plan.release("vm_000005", 60 * SEC);
        assertThat(plan.expire(59 * SEC)).isEmpty();
        assertThat(plan.reserve("vm_abcdef", null)).as("still in grace").isNull();
        // the same id takes its ports back during the grace period
        assertThat(plan.reclaim("vm_000005").ports()).isEqualTo(old);
        assertThat(plan.inGrace()).isZero();
        plan.release("vm_000005", 90 * SEC);
        assertThat(plan.reserve("vm_abcdef", null)).as("grace passed but its expiry not taken: still held").isNull();
        assertThat(plan.expire(90 * SEC)).extracting(Reservation::id).containsExactly("vm_000005");
        assertThat(plan.idOf("i-4")).as("the instance key goes with it").isNull();
        Ports reused = plan.reserve("vm_abcdef", null);
        assertThat(reused).isEqualTo(old);
        assertThat(plan.get("vm_000005")).isNull();
    }

    @Test
    void expireAndRestore() {
        Reservations plan = table();
        Ports p = plan.reserve("vm_000010", "k");
        assertThat(plan.idOf("k")).isEqualTo("vm_000010");
        plan.release("vm_000010", 10 * SEC);
        assertThat(plan.expire(5 * SEC)).isEmpty();
        assertThat(plan.expire(10 * SEC)).extracting(Reservation::id).containsExactly("vm_000010");
        assertThat(plan.size()).isZero();

        Reservations restored = table();
        assertThat(restored.restore("vm_000010", null, p.offset(), State.HELD, 0)).isTrue();
        assertThat(restored.restore("vm_000011", null, p.offset() + 2000, State.HELD, 0)).as("same transfer slot")
            .isFalse();
        assertThat(restored.restore("vm_000012", null, 2000, State.HELD, 0)).as("entrance slot").isFalse();
        assertThat(restored.restore("vm_000013", "j", 7, State.GRACE, 5 * SEC)).isTrue();
        assertThat(restored.inGrace()).isEqualTo(1);
        assertThat(restored.all()).extracting(Reservation::id).containsExactly("vm_000013", "vm_000010");
        assertThat(restored.expire(5 * SEC)).extracting(Reservation::id).containsExactly("vm_000013");
        assertThat(restored.inGrace()).isZero();
    }

    // ---- the plan as an option ----

    @Test
    void specRoundTripsAndUnevenSizesCapAtTheSmallest() {
        PortPlan p = PortPlan.parse(" transfer=40000-40006 , pcpu=10000-10019,pfsshfs=20000-20012");
        assertThat(p.spec()).isEqualTo("pcpu=10000-10019,pfsshfs=20000-20012,transfer=40000-40006");
        assertThat(PortPlan.parse(p.spec())).isEqualTo(p);
        assertThat(p.maxVms()).isEqualTo(6);
        assertThat(p.limiting()).isEqualTo(PortKind.TRANSFER);
        assertThat(p.offsets()).isEqualTo(14); // 20 rounded down to a multiple of 7
        assertThat(p.highestAssignable(PortKind.PCPU)).isEqualTo(10_013);
        assertThat(p.highestAssignable(PortKind.PFSSHFS)).isEqualTo(20_006);
        assertThat(p.ports(8)).isEqualTo(new Ports(8, 10_008, 20_001, 40_001));
        assertThat(PortPlan.parse(PortPlan.DEFAULT_SPEC)).isEqualTo(PortPlan.DEFAULT);
        assertThat(PortPlan.DEFAULT.spec()).isEqualTo(PortPlan.DEFAULT_SPEC);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "empty                 |                                                                  | empty",
        "not KIND=LOW-HIGH     | pcpu                                                             | 'pcpu' is not KIND=LOW-HIGH",
        "unknown kind          | pcpu=10000-19999,pfsshfs=20000-29999,transfer=30000-31999,ws=32000-32001 | unknown kind 'ws'",
        "missing kind          | pcpu=10000-19999,pfsshfs=20000-29999                             | missing kind 'transfer'",
        "twice                 | pcpu=10000-19999,pcpu=20000-29999,transfer=30000-31999           | pcpu: given twice",
        "low above high        | pcpu=19999-10000,pfsshfs=20000-29999,transfer=30000-31999        | pcpu: low 19999 is above high 10000",
        "size one              | pcpu=10000-19999,pfsshfs=20000-29999,transfer=30000-30000        | transfer: 30000-30000 has 1 port",
        "overlap               | pcpu=10000-20000,pfsshfs=20000-29999,transfer=30000-31999        | pcpu 10000-20000 overlaps pfsshfs 20000-29999",
        "not a range           | pcpu=10000,pfsshfs=20000-29999,transfer=30000-31999              | pcpu: '10000' is not a range LOW-HIGH",
        "not a number          | pcpu=10000-1999x,pfsshfs=20000-29999,transfer=30000-31999        | pcpu: '1999x' is not a port number",
        "port too high         | pcpu=10000-19999,pfsshfs=20000-29999,transfer=60000-70000        | transfer: port 70000 is not within 1-65535",
        "port zero             | pcpu=0-19999,pfsshfs=20000-29999,transfer=30000-31999            | pcpu: port 0 is not within 1-65535",
        "trailing comma        | pcpu=10000-19999,pfsshfs=20000-29999,transfer=30000-31999,       | '' is not KIND=LOW-HIGH",
    })
    void badPlansAreRefusedNamingTheKind(String name, String spec, String message) {
        assertThatThrownBy(() -> PortPlan.parse(spec)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining(message);
    }

    /**
     * Ranges of sizes that are not multiples of each other: every plan fills to exactly its cap with distinct ports
     * per kind, none an entrance, all inside their ranges, whatever the ids, also after churn.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "pcpu=10000-10009,pfsshfs=20000-20006,transfer=30000-30005",   // 10, 7, 6: a plain modulo misses the cap
        "pcpu=10000-10019,pfsshfs=20000-20012,transfer=40000-40006",
        "pcpu=5000-5002,pfsshfs=6000-6001,transfer=7000-7099",
        "pcpu=10000-19999,pfsshfs=20000-29999,transfer=30000-31999",
        "pcpu=10000-10999,pfsshfs=20000-20749,transfer=30000-30332",
    })
    void everyPlanReachesItsCapUnderChurn(String spec) {
        PortPlan plan = PortPlan.parse(spec);
        Random rnd = new Random(spec.hashCode());
        boolean big = plan.maxVms() > 100;
        for (int round = 0; round < (big ? 2 : 20); round++) {
            Reservations t = new Reservations(plan);
            long now = 0;
            int next = 0;
            java.util.List<String> held = new java.util.ArrayList<>();
            for (int step = 0; step < 4 * plan.maxVms() + 50; step++) {
                if (t.size() < plan.maxVms() && rnd.nextInt(3) != 0) {
                    String id = String.format("vm_%06x", rnd.nextInt(1 << 24));
                    if (t.get(id) == null) {
                        assertThat(t.reserve(id, "i" + next++)).as("%s below its cap (%d held)", spec, t.size())
                            .isNotNull();
                        held.add(id);
                    }
                } else if (!held.isEmpty()) {
                    String id = held.remove(rnd.nextInt(held.size()));
                    t.release(id, now + rnd.nextInt(5));
                }
                now++;
                t.expire(now);
                if (!big || step % 500 == 0) {
                    assertInvariants(plan, t);
                }
            }
            while (t.size() < plan.maxVms()) {
                assertThat(t.reserve(String.format("vm_%06x", rnd.nextInt(1 << 24)), null)).isNotNull();
            }
            assertInvariants(plan, t);
            assertThat(t.reserve("vm_fffffe", null)).as("full at %d", plan.maxVms()).isNull();
        }
    }

    private static void assertInvariants(PortPlan plan, Reservations t) {
        for (PortKind k : PortKind.values()) {
            Set<Integer> seen = new HashSet<>();
            for (Reservation r : t.all()) {
                int port = r.ports().port(k);
                assertThat(seen.add(port)).as("%s port %d held twice", k, port).isTrue();
                assertThat(port).isGreaterThan(plan.range(k).low()).isLessThanOrEqualTo(plan.range(k).high());
            }
        }
    }
}
