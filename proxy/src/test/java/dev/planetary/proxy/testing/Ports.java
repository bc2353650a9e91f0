package dev.planetary.proxy.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Finds free listening ports for proxies under test inside a given range (our port plan's ranges lie below the
 * kernel's ephemeral range, so probing there does not race with outgoing connections).
 */
public final class Ports {

    private static final AtomicInteger NEXT = new AtomicInteger();

    private Ports() {
    }

    /** A run of {@code count} consecutive free ports on 127.0.0.1, starting at or above {@code from}. */
    public static synchronized int freeRun(int from, int to, int count) {
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

    /** One free port in the pcpu range (10000-19999). */
    public static int pcpu() {
        return freeRun(10_000, 19_999, 1);
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
}
