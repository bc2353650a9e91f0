package dev.planetary.swarm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.planetary.testkit.Launcher;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** The port plan up picks from the descriptor limit, and the config it writes for it from the shipped one. */
class PlanChoiceTest {

    @Test
    void thisMachinesLimitGetsTheReducedPlanWithAMaxconnThatFits() {
        PlanChoice p = PlanChoice.choose(20_000, 2, false);
        assertThat(p.full()).isFalse();
        assertThat(p.genesisPlan()).isEqualTo("pcpu=10000-11999,pfsshfs=20000-21999,transfer=30000-31999");
        assertThat(p.maxconn()).isEqualTo(6_400);
        assertThat(p.needed()).as("listeners + 2 x maxconn + reserve fit the limit").isLessThanOrEqualTo(20_000)
            .isEqualTo(6_002 + 2 * 6_400 + 1_152);
    }

    @Test
    void aLimitThatHoldsTheShippedPlanGetsIt() {
        PlanChoice p = PlanChoice.choose(65_536, 2, false);
        assertThat(p.full()).isTrue();
        assertThat(p.maxconn()).isEqualTo(20_000);
        assertThat(p.needed()).isEqualTo(22_002 + 40_000 + 1_152);
        assertThat(PlanChoice.choose(p.needed() - 1, 2, false).full()).as("one descriptor short").isFalse();
    }

    @Test
    void fullInsistsEvenWhereItDoesNotFit() {
        PlanChoice p = PlanChoice.choose(20_000, 2, true);
        assertThat(p.full()).isTrue();
        assertThat(p.needed()).isGreaterThan(20_000);
    }

    @Test
    void aLimitTooLowForEvenTheReducedPlanIsRefusedSayingHowToRaiseIt() {
        assertThatThrownBy(() -> PlanChoice.choose(8_000, 2, false)).isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("too low").hasMessageContaining("ulimit -n");
    }

    @Test
    void theReducedConfigIsTheShippedOneWithShorterRangesAndMaxconn() throws Exception {
        String shipped = Files.readString(Launcher.root().resolve("conf/planetary.cfg"));
        String c = PlanChoice.choose(20_000, 2, false).config(shipped);
        assertThat(c).contains("bind 127.0.0.1:10000-11999", "bind 127.0.0.1:20000-21999",
            "bind 127.0.0.1:30000-31999", "bind 127.0.0.1:32000", "maxconn 6400", "timeout tunnel 1h",
            "discover genesis swarm service pcpu", "pin-ports pcpu")
            .doesNotContain("10000-19999", "20000-29999", "maxconn 20000");
        assertThat(PlanChoice.choose(65_536, 2, false).config(shipped)).isEqualTo(shipped);
    }
}
