package dev.planetary.bench.soak;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * One client connection through the proxy (blocking socket), opened up to the server's announcement: after
 * {@link #open} returns, {@link #server()} names the server it landed on.
 */
final class Conn implements AutoCloseable {

    /** The proxy did not accept the connection at all: always a failure. */
    static final class ProxyRefused extends IOException {
        ProxyRefused(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Connected, but the connection ended before the server's name arrived. */
    static final class CutBeforeAnnounce extends IOException {
        CutBeforeAnnounce(String message) {
            super(message);
        }
    }

    /** Longest wait for a connect or a read: far above any healthy answer, even on a loaded 2-core machine. */
    static final int TIMEOUT_MILLIS = 30_000;
    private static final int MAX_NAME = 64;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final String server;

    private Conn(Socket socket, String server) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.server = server;
    }

    static Conn open(int port) throws IOException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.setSoTimeout(TIMEOUT_MILLIS);
            try {
                s.connect(new InetSocketAddress("127.0.0.1", port), TIMEOUT_MILLIS);
            } catch (IOException e) {
                throw new ProxyRefused("connect to the proxy's port " + port + ": " + e, e);
            }
            InputStream in = s.getInputStream();
            StringBuilder name = new StringBuilder();
            while (true) {
                int b;
                try {
                    b = in.read();
                } catch (IOException e) {
                    throw new CutBeforeAnnounce("port " + port + ": " + e);
                }
                if (b < 0) {
                    throw new CutBeforeAnnounce("port " + port + ": closed before the server's name");
                }
                if (b == '\n') {
                    break;
                }
                if (name.length() == MAX_NAME) {
                    throw new IOException("port " + port + ": announcement longer than " + MAX_NAME + " bytes: "
                        + name);
                }
                name.append((char) b);
            }
            return new Conn(s, name.toString());
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    String server() {
        return server;
    }

    OutputStream out() {
        return out;
    }

    /** Reads up to len bytes; -1 at the end of the stream. */
    int read(byte[] b, int off, int len) throws IOException {
        return in.read(b, off, len);
    }

    void readFully(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            int n = in.read(b, off, len);
            if (n < 0) {
                throw new EOFException("closed with " + len + " bytes of the reply missing");
            }
            off += n;
            len -= n;
        }
    }

    /**
     * Whether an idle connection is still open, without waiting: true when nothing is there to read yet, false at
     * the end of the stream. Bytes nobody asked for throw.
     */
    boolean stillOpen() throws IOException {
        socket.setSoTimeout(1);
        try {
            int b = in.read();
            if (b >= 0) {
                throw new IOException("an idle connection received a byte nobody asked for");
            }
            return false;
        } catch (java.net.SocketTimeoutException e) {
            return true; // the socket stays usable after a read timeout
        } finally {
            socket.setSoTimeout(TIMEOUT_MILLIS);
        }
    }

    void shutdownOutput() throws IOException {
        socket.shutdownOutput();
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // closing a dead socket: nothing left to do
        }
    }

    static String text(byte[] b, int len) {
        return new String(b, 0, len, StandardCharsets.US_ASCII);
    }
}
