package dev.planetary.proxy.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Talks to a runtime API socket with socat, as an operator does: {@code echo CMD | socat stdio ADDRESS}. */
public final class Socat {

    /** Longest wait for one socat run. */
    private static final long WAIT_S = 20;

    private Socat() {
    }

    /** The answer to {@code input} on {@code address} ({@code UNIX-CONNECT:/path} or {@code TCP:127.0.0.1:PORT}). */
    public static String run(String address, String input) throws IOException, InterruptedException {
        // -t: after sending, wait for the answer longer than socat's 0.5 s (a first answer on a loaded machine is slower)
        Process p = new ProcessBuilder("socat", "-t", "10", "stdio", address).redirectErrorStream(true).start();
        try {
            p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(WAIT_S, TimeUnit.SECONDS)) {
                throw new IOException("socat " + address + " did not finish in " + WAIT_S + " s");
            }
            return out;
        } finally {
            p.destroyForcibly();
        }
    }
}
