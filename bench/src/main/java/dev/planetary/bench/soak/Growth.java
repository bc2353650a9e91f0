package dev.planetary.bench.soak;

/**
 * Growth of one resource over a soak: the least-squares line through the samples taken after the warm-up, and how
 * much it rises from the first of those samples to the last. A fitted line, not the last sample minus the first:
 * the counts swing with the load (connections in flight, a VM's connections cut and reopened, a garbage collection
 * or a pooled chunk of direct memory given back), and one high or low sample at either end must not decide the
 * verdict; a leak, however, rises steadily and moves the whole line.
 */
record Growth(String metric, String unit, int samples, double first, double last, double max, double rise,
              double tolerance) {

    /** Fewer post-warm-up samples than this cannot show a trend: the verdict is then "too short", a failure. */
    static final int MIN_SAMPLES = 4;

    boolean tooShort() {
        return samples < MIN_SAMPLES;
    }

    boolean grew() {
        return tooShort() || rise > tolerance;
    }

    /**
     * The growth of {@code values} at times {@code seconds} (both for the samples after the warm-up only).
     */
    static Growth of(String metric, String unit, double[] seconds, double[] values, double tolerance) {
        int n = values.length;
        if (n == 0) {
            return new Growth(metric, unit, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, tolerance);
        }
        double max = Double.NEGATIVE_INFINITY;
        double mt = 0;
        double mv = 0;
        for (int i = 0; i < n; i++) {
            mt += seconds[i];
            mv += values[i];
            max = Math.max(max, values[i]);
        }
        mt /= n;
        mv /= n;
        double sxy = 0;
        double sxx = 0;
        for (int i = 0; i < n; i++) {
            sxy += (seconds[i] - mt) * (values[i] - mv);
            sxx += (seconds[i] - mt) * (seconds[i] - mt);
        }
        double slope = sxx == 0 ? 0 : sxy / sxx;
        double rise = slope * (seconds[n - 1] - seconds[0]);
        return new Growth(metric, unit, n, values[0], values[n - 1], max, rise, tolerance);
    }
}
