package dev.planetary.bench.soak;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class GrowthTest {

    private static final double[] T = {30, 40, 50, 60, 70, 80, 90, 100, 110, 120};

    @Test
    void aSteadyLeakRisesByItsSlopeOverTheWindow() {
        double[] v = new double[T.length];
        for (int i = 0; i < T.length; i++) {
            v[i] = 200 + 2 * (T[i] - 30); // 2 descriptors a second
        }
        Growth g = Growth.of("fds", "", T, v, 64);
        assertThat(g.rise()).isCloseTo(180, within(1e-9));
        assertThat(g.grew()).isTrue();
    }

    @Test
    void oneHighSampleAtTheEndDoesNotMakeALeak() {
        double[] v = {200, 210, 195, 205, 200, 190, 210, 200, 205, 290};
        Growth g = Growth.of("fds", "", T, v, 64);
        assertThat(g.last() - g.first()).isEqualTo(90); // last minus first would have failed it
        assertThat(g.rise()).isLessThan(64);
        assertThat(g.grew()).isFalse();
    }

    @Test
    void aFlatSwingingSeriesIsFlatAndAFallIsNoGrowth() {
        double[] swing = {100, 140, 100, 140, 100, 140, 100, 140, 100, 140};
        assertThat(Growth.of("fds", "", T, swing, 64).grew()).isFalse();
        double[] fall = {300, 280, 260, 240, 220, 200, 180, 160, 140, 120};
        Growth g = Growth.of("fds", "", T, fall, 64);
        assertThat(g.rise()).isNegative();
        assertThat(g.grew()).isFalse();
    }

    @Test
    void tooFewSamplesAreAFailureNotAPass() {
        Growth g = Growth.of("fds", "", new double[] {30, 40, 50}, new double[] {1, 1, 1}, 64);
        assertThat(g.tooShort()).isTrue();
        assertThat(g.grew()).isTrue();
        assertThat(Growth.of("fds", "", new double[0], new double[0], 64).grew()).isTrue();
    }

    @Test
    void nativeMemorySummaryIsParsed() {
        String nmt = """
            Native Memory Tracking:

            Total: reserved=1700000KB, committed=420123KB
            -                 Java Heap (reserved=262144KB, committed=262144KB)
                                        (mmap: reserved=262144KB, committed=262144KB)
            -                     Other (reserved=16404KB, committed=16388KB)
                                        (malloc=16388KB #23)
            """;
        assertThat(Sample.parse(nmt)).containsExactly(16388, 420123);
        assertThat(Sample.parse("jcmd: no such process")).containsExactly(-1, -1);
    }

    @Test
    void contentMismatchFindsTheFirstWrongByteAcrossTheTableEnd() {
        long start = Content.LENGTH - 10;
        byte[] b = new byte[40];
        Content.fill(start, 0, b, 0, b.length);
        assertThat(Content.mismatch(start, 0, b, 0, b.length)).isEqualTo(-1);
        b[25] ^= 1;
        assertThat(Content.mismatch(start, 0, b, 0, b.length)).isEqualTo(25);
        // one byte lost: everything after it is shifted, and the shift shows at once
        byte[] lost = new byte[39];
        Content.fill(start, 0, lost, 0, 5);
        Content.fill(start, 6, lost, 5, 34);
        assertThat(Content.mismatch(start, 0, lost, 0, lost.length)).isBetween(5, 7);
    }

    @Test
    void warmUpIsAFifthOfTheRunWithinBounds() {
        assertThat(SoakRun.warmupSeconds(120)).isEqualTo(30);
        assertThat(SoakRun.warmupSeconds(600)).isEqualTo(120);
        assertThat(SoakRun.warmupSeconds(3600)).isEqualTo(300);
    }
}
