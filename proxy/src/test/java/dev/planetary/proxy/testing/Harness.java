package dev.planetary.proxy.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.ConfigParser;
import dev.planetary.core.config.ConfigResult;
import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.StartException;
import dev.planetary.proxy.Transport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** Starting an in-process proxy from config text, and small blocking socket helpers for tests. */
public final class Harness {

    private Harness() {
    }

    public static Proxy start(String configText) {
        return start(configText, Transport.best());
    }

    /** A proxy on the given transport (real-socket tests run on epoll and on the NIO fallback). */
    public static Proxy start(String configText, Transport transport) {
        ConfigResult r = ConfigParser.parse("test.cfg", configText);
        assertThat(r.errors()).as("config errors").isEmpty();
        try {
            return Proxy.start(r.config(), transport);
        } catch (StartException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    public static Socket connect(int port) throws IOException {
        return connect("127.0.0.1", port);
    }

    /** Connects from a chosen loopback source address (for source-hash tests). */
    public static Socket connectFrom(String source, int port) throws IOException {
        Socket s = new Socket();
        s.setSoTimeout(10_000);
        s.bind(new InetSocketAddress(source, 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        return s;
    }

    public static Socket connect(String host, int port) throws IOException {
        Socket s = new Socket();
        s.setSoTimeout(10_000);
        s.connect(new InetSocketAddress(host, port), 5_000);
        return s;
    }

    /** Reads one line (up to '\n', without it), or null at end of stream. */
    public static String readLine(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        StringBuilder sb = new StringBuilder();
        for (;;) {
            int c = in.read();
            if (c < 0) {
                return sb.length() == 0 ? null : sb.toString();
            }
            if (c == '\n') {
                return sb.toString();
            }
            sb.append((char) c);
        }
    }

    public static void write(Socket s, String text) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** Reads until end of stream. */
    public static String readAll(Socket s) throws IOException {
        return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    }

    /** Whether 127.0.0.1:{@code port} accepts a connection now (within 1 s); the connection is closed at once. */
    public static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
