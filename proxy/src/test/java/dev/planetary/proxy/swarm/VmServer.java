package dev.planetary.proxy.swarm;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in VM's service: listens on its own loopback address (127.0.0.x, as a VM has its own IP), greets every
 * connection with its name and a newline, then echoes. Blocking, a thread per connection.
 */
public final class VmServer implements AutoCloseable {

    private final String name;
    private final ServerSocket server;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    public final AtomicInteger accepted = new AtomicInteger();

    private VmServer(String name, ServerSocket server) {
        this.name = name;
        this.server = server;
        Thread t = new Thread(this::acceptLoop, "vm-" + name);
        t.setDaemon(true);
        t.start();
    }

    /** Listens on {@code ip}, on a port the kernel picks. */
    public static VmServer start(String name, String ip) throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getByName(ip), 0), 200);
        return new VmServer(name, s);
    }

    public String name() { return name; }
    public String ip() { return server.getInetAddress().getHostAddress(); }
    public int port() { return server.getLocalPort(); }

    private void acceptLoop() {
        for (;;) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            accepted.incrementAndGet();
            open.add(s);
            Thread t = new Thread(() -> serve(s), "vm-" + name + "-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(Socket s) {
        try (s) {
            OutputStream out = s.getOutputStream();
            out.write((name + "\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            for (int n; (n = in.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // client went away
        } finally {
            open.remove(s);
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing for cleanup
        }
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing for cleanup
            }
        }
    }
}
