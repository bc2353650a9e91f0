package dev.planetary.bench.harness;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/** Choosing listening ports that are free now, and probing whether a port accepts. */
public final class Ports {

    private Ports() {
    }

    /**
     * The lowest {@code count} consecutive ports in [low, high] that 127.0.0.1 can bind now. All must stay below
     * 32768 (the ephemeral range starts there and must not be widened).
     */
    public static int freeRange(int low, int high, int count) {
        if (high >= 32768) {
            throw new IllegalArgumentException("listening ports must stay below 32768: " + high);
        }
        int run = 0;
        for (int p = low; p <= high; p++) {
            if (free(p)) {
                if (++run == count) {
                    return p - count + 1;
                }
            } else {
                run = 0;
            }
        }
        throw new IllegalStateException("no " + count + " consecutive free ports in " + low + "-" + high);
    }

    static boolean free(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** True if a TCP connect to 127.0.0.1:port succeeds; the probe is closed with a reset (no TIME_WAIT). */
    public static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.setSoLinger(true, 0);
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
