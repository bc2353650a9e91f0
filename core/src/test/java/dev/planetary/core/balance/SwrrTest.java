package dev.planetary.core.balance;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class SwrrTest {

    /** nginx's loop, O(S * n), as the reference. */
    private static int[] nginx(int[] weights) {
        int[] w = Swrr.reduce(weights);
        int total = 0;
        for (int x : w) {
            total += x;
        }
        long[] current = new long[w.length];
        int[] seq = new int[total];
        for (int t = 0; t < total; t++) {
            int best = -1;
            for (int i = 0; i < w.length; i++) {
                current[i] += w[i];
                if (best < 0 || current[i] > current[best]) {
                    best = i;
                }
            }
            current[best] -= total;
            seq[t] = best;
        }
        return seq;
    }

    @Test
    void fiveOneOneIsNginxSequence() {
        assertThat(Swrr.sequence(new int[] {5, 1, 1})).containsExactly(0, 0, 1, 0, 2, 0, 0);
    }

    @Test
    void equalWeightsTakeTurnsInListOrder() {
        assertThat(Swrr.sequence(new int[] {3, 3, 3, 3})).containsExactly(0, 1, 2, 3);
    }

    @Test
    void matchesNginxLoopForRandomWeights() {
        Random random = new Random(7);
        for (int round = 0; round < 200; round++) {
            int[] weights = new int[1 + random.nextInt(12)];
            for (int i = 0; i < weights.length; i++) {
                weights[i] = 1 + random.nextInt(random.nextBoolean() ? 4 : 256);
            }
            assertThat(Swrr.sequence(weights)).as("weights %s", java.util.Arrays.toString(weights))
                    .containsExactly(nginx(weights));
        }
    }

    @Test
    void reducesByGcdAndCapsTheTable() {
        assertThat(Swrr.reduce(new int[] {10, 20, 30})).containsExactly(1, 2, 3);
        int[] big = new int[10_000];
        java.util.Arrays.fill(big, 256);
        big[0] = 255;
        int[] reduced = Swrr.reduce(big);
        assertThat(java.util.Arrays.stream(reduced).asLongStream().sum()).isLessThanOrEqualTo(Swrr.MAX_TABLE);
        assertThat(Swrr.sequence(big)).hasSizeLessThanOrEqualTo(Swrr.MAX_TABLE);
    }
}
