package dev.planetary.registry.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Expiry held after Genesis' own faults, in the state machine alone: time is an argument. */
class FaultsTest {

    private static final long S = 1_000_000_000L;

    private static Registration reg() {
        return new Registration(null, 1, 1024, 10, Map.of(), Map.of(), null);
    }

    @Test
    void aLoneSilentVmExpiresAtTheTtlWithoutAFaultButOnlyATtlAfterOne() throws Exception {
        long t0 = 1_000 * S;
        Faults faults = new Faults();
        Registry held = new Registry(Settings.defaults(), dev.planetary.core.ports.PortPlan.DEFAULT, new Random(1),
            faults);
        Registry plain = new Registry(Settings.defaults(), new Random(1));
        String a = held.register(reg(), "10.0.0.1", t0, 0).vm().id();
        plain.register(reg(), "10.0.0.1", t0, 0);
        faults.report("accept failed", t0 + 10 * S);

        plain.tick(t0 + 16 * S);
        held.tick(t0 + 16 * S);
        assertThat(plain.vms()).as("no fault: expired after the TTL").isEmpty();
        assertThat(held.vms()).extracting(Vm::id).containsExactly(a);
        assertThat(held.faultHold()).isTrue();
        assertThat(held.view().faultHold()).isTrue();

        held.tick(t0 + 25 * S); // 15 s after the fault: still held
        assertThat(held.vms()).hasSize(1);
        held.tick(t0 + 26 * S);
        assertThat(held.vms()).isEmpty();
        assertThat(held.faultHold()).isFalse();
        assertThat(held.pending()).extracting(Change::type).containsExactly(Change.Type.ADDED, Change.Type.REMOVED);
    }

    @Test
    void laterReportsExtendTheHoldEarlierOnesDoNot() {
        Faults f = new Faults();
        assertThat(f.holding(0, 15 * S)).isFalse();
        f.report("a", 100 * S);
        f.report("b", 90 * S);
        assertThat(f.holding(115 * S, 15 * S)).isTrue();
        assertThat(f.holding(116 * S, 15 * S)).isFalse();
        f.report("c", 110 * S);
        assertThat(f.holding(125 * S, 15 * S)).isTrue();
        assertThat(f.reports()).isEqualTo(3);
        assertThat(List.of(f.lastWhat())).containsExactly("c");
    }
}
