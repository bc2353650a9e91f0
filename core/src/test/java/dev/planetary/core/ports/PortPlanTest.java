package dev.planetary.core.ports;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.ports.PortPlan.Ports;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PortPlanTest {

    private static final long SEC = 1_000_000_000L;

    @Test
    void homeOffsetIsTheSeedsHash() {
        // the seed's example: int('abc123', 16) % 10000 = 11256099 % 10000 = 6099
        assertThat(PortPlan.homeOffset("vm_abc123")).isEqualTo(6099);
        Ports p = new PortPlan().assign("vm_abc123", 0);
        assertThat(p.pcpu()).isEqualTo(16099);
        assertThat(p.pfsshfs()).isEqualTo(26099);
        assertThat(p.transfer()).isEqualTo(30099);
    }

    @Test
    void collidingHashesProbeToTheNextFreeOffsetIncludingTheTransferSlot() {
        PortPlan plan = new PortPlan();
        Ports a = plan.assign("vm_000001", 0);       // home 1
        Ports b = plan.assign("vm_002711", 0);       // 0x2711 = 10001 -> home 1: taken, probe to 2
        Ports c = plan.assign("vm_0007d3", 0);       // 0x7d3 = 2003 -> home 2003, transfer slot 3
        Ports d = plan.assign("vm_0007d1", 0);       // 2001: slot 1 held by offset 1 -> probe 2002 (slot 2 held) -> 2004
        assertThat(a.offset()).isEqualTo(1);
        assertThat(b.offset()).isEqualTo(2);
        assertThat(c.offset()).isEqualTo(2003);
        assertThat(d.offset()).isEqualTo(2004);
        assertThat(Set.of(a.transfer(), b.transfer(), c.transfer(), d.transfer())).hasSize(4);
    }

    @Test
    void entranceOffsetsAreNeverAssigned() {
        PortPlan plan = new PortPlan();
        assertThat(plan.assign("vm_000000", 0).offset()).isEqualTo(1);      // home 0 -> 1
        assertThat(plan.assign("vm_0007d0", 0).offset()).isEqualTo(2002);   // home 2000 (slot 0), 2001 (slot 1 held) -> 2002
        assertThat(plan.assign("vm_002710", 0).offset()).isEqualTo(3);      // 10000 % 10000 = 0 -> 1, 2 (slot held) -> 3
    }

    @Test
    void fillsExactly1999VmsWithDistinctPortsThenRefuses() {
        PortPlan plan = new PortPlan();
        Set<Integer> pcpu = new HashSet<>();
        Set<Integer> pfs = new HashSet<>();
        Set<Integer> transfer = new HashSet<>();
        for (int i = 0; i < PortPlan.MAX_HOLDERS; i++) {
            Ports p = plan.assign(String.format("vm_%06x", i * 7919 % 0xffffff), 0);
            assertThat(p).as("vm %d", i).isNotNull();
            assertThat(PortPlan.assignable(p.offset())).isTrue();
            assertThat(pcpu.add(p.pcpu())).isTrue();
            assertThat(pfs.add(p.pfsshfs())).isTrue();
            assertThat(transfer.add(p.transfer())).isTrue();
        }
        assertThat(transfer).doesNotContain(30_000).allMatch(t -> t > 30_000 && t <= 31_999);
        assertThat(plan.held()).isEqualTo(1999);
        assertThat(plan.assign("vm_ffffff", 0)).isNull();
    }

    @Test
    void releasedOffsetIsReusedOnlyAfterTheGracePeriod() {
        PortPlan plan = new PortPlan();
        for (int i = 0; i < PortPlan.MAX_HOLDERS; i++) {
            assertThat(plan.assign(String.format("vm_%06x", i + 1), 0)).isNotNull();
        }
        Ports old = plan.of("vm_000005");
        plan.release("vm_000005", 60 * SEC);
        assertThat(plan.assign("vm_abcdef", 59 * SEC)).as("still in grace").isNull();
        // the same id takes its ports back during the grace period
        assertThat(plan.assign("vm_000005", 30 * SEC)).isEqualTo(old);
        plan.release("vm_000005", 90 * SEC);
        Ports reused = plan.assign("vm_abcdef", 90 * SEC);
        assertThat(reused).isEqualTo(old);
        assertThat(plan.of("vm_000005")).isNull();
    }

    @Test
    void sweepAndRestore() {
        PortPlan plan = new PortPlan();
        Ports p = plan.assign("vm_000010", 0);
        plan.release("vm_000010", 10 * SEC);
        assertThat(plan.sweep(5 * SEC)).isEmpty();
        assertThat(plan.sweep(10 * SEC)).containsExactly("vm_000010");
        assertThat(plan.held()).isZero();

        PortPlan restored = new PortPlan();
        assertThat(restored.restore("vm_000010", p.offset(), false, 0)).isTrue();
        assertThat(restored.restore("vm_000011", p.offset() + 2000, false, 0)).as("same transfer slot").isFalse();
        assertThat(restored.restore("vm_000012", 2000, false, 0)).as("entrance slot").isFalse();
        assertThat(restored.holdings()).extracting(PortPlan.Holding::id).containsExactly("vm_000010");
    }
}
