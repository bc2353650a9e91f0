package dev.planetary.bench.soak;

import java.util.SplittableRandom;

/**
 * The known pseudo-random content every stream of the soak carries: one table of random bytes, shared, read from a
 * per-connection start offset. Its length is a prime, so a lost, duplicated or reordered run of bytes shifts every
 * later byte against the table and the receiver sees a mismatch at once; only a loss of exactly a multiple of the
 * table's length (about 1 MiB) in one piece would line up again, and the final byte count catches that.
 */
final class Content {

    /** A prime just below 1 MiB: long enough that no realistic loss is a whole period, small enough to stay cached. */
    static final int LENGTH = 1_048_573;
    private static final byte[] TABLE = new byte[LENGTH];

    static {
        SplittableRandom r = new SplittableRandom(0x5eed_50a4L);
        for (int i = 0; i < LENGTH; i++) {
            TABLE[i] = (byte) r.nextInt(256);
        }
    }

    private Content() {
    }

    /** Copies {@code len} bytes of the stream that starts at table offset {@code start}, from stream position pos. */
    static void fill(long start, long pos, byte[] dst, int off, int len) {
        int i = (int) ((start + pos) % LENGTH);
        while (len > 0) {
            int n = Math.min(len, LENGTH - i);
            System.arraycopy(TABLE, i, dst, off, n);
            off += n;
            len -= n;
            i = 0;
        }
    }

    /**
     * The first index in {@code got[off, off+len)} that differs from the stream at {@code pos}, or -1 when all match.
     */
    static int mismatch(long start, long pos, byte[] got, int off, int len) {
        int i = (int) ((start + pos) % LENGTH);
        int done = 0;
        while (done < len) {
            int n = Math.min(len - done, LENGTH - i);
            int m = java.util.Arrays.mismatch(TABLE, i, i + n, got, off + done, off + done + n);
            if (m >= 0) {
                return done + m;
            }
            done += n;
            i = 0;
        }
        return -1;
    }
}
