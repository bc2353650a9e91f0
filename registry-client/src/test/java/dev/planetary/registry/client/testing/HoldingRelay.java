package dev.planetary.registry.client.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP relay in front of a Genesis that passes each request on but holds the answer back: the client sees
 * a Genesis that took its request (and, once {@link #held()} has it, committed and answered it) without the answer
 * reaching it, as when Genesis dies between its commit and its answer. The client's connection stays open, whatever
 * Genesis does with its end (it may close after answering), until the test kills that Genesis and {@link #cut}s the
 * clients' connections as its death would. It connects upstream from {@code source}, so Genesis records the same
 * address as the client's own. Every thread ends when its sockets close ({@link #close}).
 */
public final class HoldingRelay implements AutoCloseable {

    private final ServerSocket server;
    private final InetSocketAddress upstream;
    private final InetAddress source;
    private final ByteArrayOutputStream forwarded = new ByteArrayOutputStream();
    private final ByteArrayOutputStream held = new ByteArrayOutputStream();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final List<Socket> clients = new CopyOnWriteArrayList<>();

    private HoldingRelay(InetSocketAddress upstream, InetAddress source) throws IOException {
        this.upstream = upstream;
        this.source = source;
        this.server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
    }

    /** Listens on a free port of 127.0.0.1 for clients of {@code upstream}. */
    public static HoldingRelay start(InetSocketAddress upstream, InetAddress source) throws IOException {
        HoldingRelay r = new HoldingRelay(upstream, source);
        daemon("relay-accept", r::accept);
        return r;
    }

    public URI uri() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    /** What the clients sent upstream so far. */
    public String forwarded() {
        synchronized (forwarded) {
            return forwarded.toString(StandardCharsets.UTF_8);
        }
    }

    /** What upstream answered so far (none of it passed on). */
    public String held() {
        synchronized (held) {
            return held.toString(StandardCharsets.UTF_8);
        }
    }

    private static void daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                clients.add(client);
                sockets.add(client);
                Socket up = new Socket();
                sockets.add(up);
                up.bind(new InetSocketAddress(source, 0));
                up.connect(upstream, 2_000);
                daemon("relay-up", () -> pump(client, up, forwarded, true));
                daemon("relay-down", () -> pump(up, null, held, false));
            } catch (IOException e) {
                // closed, or upstream refused: the client's connection ends with it
            }
        }
    }

    private static void pump(Socket from, Socket to, ByteArrayOutputStream copy, boolean pass) {
        byte[] buf = new byte[8192];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = pass ? to.getOutputStream() : null;
            for (int n; (n = in.read(buf)) >= 0; ) {
                synchronized (copy) {
                    copy.write(buf, 0, n);
                }
                if (out != null) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            }
        } catch (IOException e) {
            // either side closed
        }
    }

    private static void reset(Socket s) {
        try {
            s.setSoLinger(true, 0);
            s.close();
        } catch (IOException e) {
            // already closed
        }
    }

    /** Resets every client connection, as the death of the Genesis behind it does. */
    public void cut() {
        clients.forEach(HoldingRelay::reset);
    }

    @Override
    public void close() throws IOException {
        server.close();
        sockets.forEach(HoldingRelay::reset);
    }
}
