package dev.planetary.core.balance;

import java.util.Arrays;

/**
 * Builds nginx's smooth weighted round robin sequence as a table of indices, for {@link RoundRobinBalancer} and
 * {@link MapBasedSourceBalancer}.
 *
 * <p>nginx adds each weight to a per-server "current" value every step, picks the largest current (the first in
 * list order on ties) and subtracts the weight total from it. After {@code t} steps a server picked {@code k} times
 * has {@code current = t*w - S*k}, so among servers of equal weight the one picked fewest times (then the lowest
 * index) is ahead: they take turns in index order. The builder therefore keeps one cursor per distinct weight and
 * compares only those, which costs {@code S * G} for a table of {@code S} entries and {@code G} distinct weights
 * (G <= 256) instead of nginx's {@code S * n}; the sequence is identical.
 */
final class Swrr {

    /**
     * Largest table. Weights are first divided by their gcd; if they still sum to more than this (about 4,000
     * servers of weight 256), each is scaled by {@code MAX_TABLE / sum} (rounded down, at least 1), which keeps the
     * proportions to within one part in the scaled weight and bounds both the table (4 MiB) and the build work.
     */
    static final int MAX_TABLE = 1 << 20;

    private Swrr() {
    }

    /** Weights divided by their gcd, scaled down if they sum above {@link #MAX_TABLE}; all inputs must be > 0. */
    static int[] reduce(int[] weights) {
        int[] w = divideByGcd(weights.clone());
        long sum = 0;
        for (int x : w) {
            sum += x;
        }
        if (sum > MAX_TABLE) {
            for (int i = 0; i < w.length; i++) {
                w[i] = (int) Math.max(1, (long) w[i] * MAX_TABLE / sum);
            }
            divideByGcd(w);
        }
        return w;
    }

    /**
     * The SWRR sequence for these weights (all > 0), after {@link #reduce}: entry {@code t} is the index of the
     * server nginx would pick at step {@code t}.
     */
    static int[] sequence(int[] weights) {
        int n = weights.length;
        if (n == 0) {
            return new int[0];
        }
        int[] w = reduce(weights);
        int total = 0;
        for (int x : w) {
            total += x;
        }
        long[] packed = new long[n];
        for (int i = 0; i < n; i++) {
            packed[i] = ((long) w[i] << 32) | i;
        }
        Arrays.sort(packed);
        int[] members = new int[n];
        int[] groupStart = new int[n + 1];
        int[] groupWeight = new int[n];
        int groups = 0;
        for (int i = 0; i < n; i++) {
            members[i] = (int) packed[i];
            int weight = (int) (packed[i] >>> 32);
            if (groups == 0 || groupWeight[groups - 1] != weight) {
                groupWeight[groups] = weight;
                groupStart[groups] = i;
                groups++;
            }
        }
        groupStart[groups] = n;
        int[] cursor = new int[groups];
        long[] picks = new long[groups];
        int[] seq = new int[total];
        for (int t = 1; t <= total; t++) {
            int bestGroup = -1;
            int bestIndex = Integer.MAX_VALUE;
            long bestCurrent = Long.MIN_VALUE;
            for (int g = 0; g < groups; g++) {
                long current = (long) t * groupWeight[g] - (long) total * picks[g];
                int index = members[groupStart[g] + cursor[g]];
                if (current > bestCurrent || (current == bestCurrent && index < bestIndex)) {
                    bestCurrent = current;
                    bestIndex = index;
                    bestGroup = g;
                }
            }
            seq[t - 1] = bestIndex;
            if (++cursor[bestGroup] == groupStart[bestGroup + 1] - groupStart[bestGroup]) {
                cursor[bestGroup] = 0;
                picks[bestGroup]++;
            }
        }
        return seq;
    }

    private static int[] divideByGcd(int[] w) {
        int g = 0;
        for (int x : w) {
            g = gcd(g, x);
        }
        if (g > 1) {
            for (int i = 0; i < w.length; i++) {
                w[i] /= g;
            }
        }
        return w;
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}
