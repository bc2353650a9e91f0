package dev.planetary.proxy.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Finds free listening ports for proxies under test (our port plan's ranges lie below the kernel's ephemeral range,
 * so probing there does not race with outgoing connections).
 *
 * <p>The port space is partitioned so that no test depends on what an earlier one left behind: a closed proxy's
 * accepted sockets can sit in FIN_WAIT or CLOSE_WAIT for up to a minute, and a listener that is still closing holds
 * its port. {@code LargeRangeTest} binds the fixed ranges {@link #LARGE_RANGE_PCPU}, {@link #LARGE_RANGE_SSH} and
 * 30000-32000 and nothing else may ever take a port there; every other test takes its ports through the helpers
 * below, which stay in the upper halves of the plan's ranges (15000-19999, 25000-29999).
 */
public final class Ports {

    /** Owned by LargeRangeTest: never handed out here. */
    public static final int[] LARGE_RANGE_PCPU = {10_000, 14_999};
    public static final int[] LARGE_RANGE_SSH = {20_000, 24_999};
    public static final int[] LARGE_RANGE_TRANSFER_WS = {30_000, 32_000};

    private static final int PCPU_LOW = 15_000;
    private static final int PCPU_HIGH = 19_999;
    private static final int SSH_LOW = 25_000;
    private static final int SSH_HIGH = 29_999;

    private static final AtomicInteger NEXT = new AtomicInteger();

    private Ports() {
    }

    /** A run of {@code count} consecutive free ports on 127.0.0.1 within {@code from..to}. */
    public static synchronized int freeRun(int from, int to, int count) {
        if (overlapsLargeRange(from, to)) {
            throw new IllegalArgumentException(from + "-" + to + " overlaps the ranges that LargeRangeTest owns;"
                + " use Ports.pcpu()/pcpuRun()/ssh() or a range above 32000");
        }
        int start = from + (NEXT.getAndAdd(count + 7) % Math.max(1, (to - from - count)));
        for (int attempt = 0; attempt < 200; attempt++) {
            int low = start;
            if (low + count - 1 > to) {
                start = from;
                continue;
            }
            boolean ok = true;
            for (int p = low; p < low + count && ok; p++) {
                ok = free(p);
                if (!ok) {
                    start = p + 1;
                }
            }
            if (ok) {
                NEXT.addAndGet(count);
                return low;
            }
        }
        throw new IllegalStateException("no run of " + count + " free ports in " + from + "-" + to);
    }

    /** One free port in the upper half of the pcpu range (15000-19999). */
    public static int pcpu() {
        return pcpuRun(1);
    }

    /** A run of {@code count} free ports in 15000-19999. */
    public static int pcpuRun(int count) {
        return freeRun(PCPU_LOW, PCPU_HIGH, count);
    }

    /** One free port in the upper half of the ssh range (25000-29999). */
    public static int ssh() {
        return freeRun(SSH_LOW, SSH_HIGH, 1);
    }

    public static boolean free(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean overlapsLargeRange(int from, int to) {
        for (int[] r : new int[][] {LARGE_RANGE_PCPU, LARGE_RANGE_SSH, LARGE_RANGE_TRANSFER_WS}) {
            if (from <= r[1] && to >= r[0]) {
                return true;
            }
        }
        return false;
    }
}
