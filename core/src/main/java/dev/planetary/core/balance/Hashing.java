package dev.planetary.core.balance;

/**
 * Hash functions shared by the hashing balancers. Every function here is specified bit for bit (integer arithmetic
 * and strict IEEE double arithmetic, {@code StrictMath}, never {@code Math.log}), so two processes on any JVM or CPU compute the same
 * values: the consistent table must be identical everywhere.
 */
final class Hashing {

    private static final double LN2 = 0.6931471805599453;
    private static final double C3 = 1.0 / 3;
    private static final double C5 = 1.0 / 5;

    private Hashing() {
    }

    /** MurmurHash3's fmix32: spreads a client address (raw IPv4 int or {@code InetAddress.hashCode()}). */
    static int mix32(int h) {
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return h;
    }

    /** MurmurHash3's fmix64. */
    static long mix64(long z) {
        z ^= z >>> 33;
        z *= 0xff51afd7ed558ccdL;
        z ^= z >>> 33;
        z *= 0xc4ceb9fe1a85ec53L;
        z ^= z >>> 33;
        return z;
    }

    /**
     * Stable 64-bit key of a server name: FNV-1a over the UTF-16 chars, then fmix64. Depends on the name only, never
     * on list position or insertion order.
     */
    static long nameKey(String name) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < name.length(); i++) {
            h ^= name.charAt(i);
            h *= 0x100000001b3L;
        }
        return mix64(h);
    }

    /**
     * {@code -ln(u)} for {@code u} in (0, 1], with absolute error below 1e-15, using only exactly specified
     * operations: {@code u = 2^e * m}; the top 8 bits of the mantissa pick {@code c} from a table of
     * {@code StrictMath.log} values (fdlibm, identical on every JVM), with {@code m >= 1.5} folded to {@code m/2}
     * so that values near 1 do not cancel; then {@code ln(m/c) = ln(1+y)}, {@code 0 <= y < 1/256}, by a
     * degree-5 series. No division; about 3x cheaper than a series in {@code (m-1)/(m+1)}.
     */
    static double negLog(double u) {
        long bits = Double.doubleToRawLongBits(u);
        int i = (int) (bits >>> 44) & 0xFF;
        int e = (int) (bits >>> 52) - 1023 + (i >>> 7);
        double m = Double.longBitsToDouble((bits & 0xFFFFFFFFFFFFFL) | 0x3FF0000000000000L);
        double y = m * INV_C[i] - 1;
        double p = y * (1 - y * (0.5 - y * (C3 - y * (0.25 - y * C5))));
        return -(e * LN2 + LN_C[i] + p);
    }

    private static final double[] LN_C = new double[256];
    private static final double[] INV_C = new double[256];

    static {
        for (int i = 0; i < 256; i++) {
            double c = 1 + i / 256.0;
            INV_C[i] = 1 / c;
            LN_C[i] = i < 128 ? StrictMath.log(c) : StrictMath.log(c / 2);
        }
    }
}
