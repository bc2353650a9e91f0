package dev.planetary.proxy.swarm;

import dev.planetary.proxy.testing.Harness;

import java.io.IOException;
import java.net.Socket;

/** Which VM answers a connection through the proxy. */
public final class Routes {

    private Routes() {
    }

    /** The name of the VM that greets a connection to {@code port}, or null when the proxy closed it unanswered. */
    public static String who(int port) {
        return whoFrom("127.0.0.1", port);
    }

    /** As {@link #who}, connecting from source address {@code source}. */
    public static String whoFrom(String source, int port) {
        try (Socket s = Harness.connectFrom(source, port)) {
            return Harness.readLine(s);
        } catch (IOException e) {
            return null; // reset: refused like a close
        }
    }
}
