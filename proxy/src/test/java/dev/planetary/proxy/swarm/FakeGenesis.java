package dev.planetary.proxy.swarm;

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
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * A stand-in for Genesis' read side that a test scripts byte by byte: {@code GET /api/ports/plan} answers the plan
 * given (or 404), {@code GET /api/watch} answers the snapshot event the test set and then whatever the test
 * {@link #send}s — including garbage, gaps and versions that go backwards, which a real Genesis never sends.
 * Blocking sockets, a thread per connection: a handful of connections per test.
 */
public final class FakeGenesis implements AutoCloseable {

    private final ServerSocket server;
    private final Thread acceptor;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final List<OutputStream> streams = new CopyOnWriteArrayList<>();
    /** Every watch request's path and query, in order (a relist has no {@code since}). */
    public final List<String> watchRequests = new CopyOnWriteArrayList<>();
    private volatile String planJson;
    private volatile Supplier<String> snapshot = () -> snapshot(0);
    private volatile boolean closed;

    private FakeGenesis(ServerSocket server) {
        this.server = server;
        this.acceptor = new Thread(this::acceptLoop, "fake-genesis-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Listens on 127.0.0.1, on {@code port} (0 for any). */
    public static FakeGenesis start(int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return new FakeGenesis(s);
    }

    public int port() {
        return server.getLocalPort();
    }

    public URI url() {
        return URI.create("http://127.0.0.1:" + port());
    }

    /** What {@code /api/ports/plan} answers (null: 404, as a Genesis without a plan). */
    public FakeGenesis plan(String json) {
        this.planJson = json;
        return this;
    }

    /** The event every new watch stream starts with (an SSE event's text, see {@link #event}). */
    public FakeGenesis snapshot(Supplier<String> event) {
        this.snapshot = event;
        return this;
    }

    /** Writes raw bytes to every open watch stream. */
    public void send(String raw) {
        byte[] b = raw.getBytes(StandardCharsets.UTF_8);
        for (OutputStream out : streams) {
            try {
                out.write(b);
                out.flush();
            } catch (IOException e) {
                streams.remove(out);
            }
        }
    }

    public int openStreams() {
        return streams.size();
    }

    /** Closes every connection (the listener stays). */
    public void dropConnections() {
        for (Socket s : open) {
            closeQuietly(s);
        }
        streams.clear();
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        dropConnections();
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- event text ------------------------------------------------------------------------------------------

    /** One SSE event as Genesis frames it. */
    public static String event(long version, String type, String json) {
        return "id: " + version + "\nevent: " + type + "\ndata: " + json + "\n\n";
    }

    /** A snapshot event of these VMs (JSON objects from {@link #vm}). */
    public static String snapshot(long version, String... vms) {
        StringJoiner j = new StringJoiner(",", "[", "]");
        for (String vm : vms) {
            j.add(vm);
        }
        return event(version, "snapshot", "{\"version\":" + version + ",\"vms\":" + j + ",\"self_preservation\":false}");
    }

    /** A change event ({@code added}, {@code updated}, {@code draining}, {@code removed}) of one VM. */
    public static String change(long version, String type, String vm) {
        return event(version, type, "{\"version\":" + version + ",\"type\":\"" + type + "\",\"reason\":\"test\",\"vm\":"
            + vm + "}");
    }

    /** A VM as Genesis lists it. */
    public static String vm(String id, String ip, String state, Map<String, Integer> services,
                            Map<String, Integer> ports) {
        return "{\"id\":\"" + id + "\",\"instance\":\"" + id + "-inst\",\"ip\":\"" + ip + "\",\"state\":\"" + state
            + "\",\"services\":" + json(services) + ",\"ports\":" + json(ports) + "}";
    }

    /** A port plan body as {@code /api/ports/plan} serves it. */
    public static String plan(Map<String, int[]> kinds, long graceMs) {
        StringJoiner j = new StringJoiner(",", "{", "}");
        kinds.forEach((k, r) -> j.add("\"" + k + "\":{\"low\":" + r[0] + ",\"high\":" + r[1] + "}"));
        return "{\"kinds\":" + j + ",\"max_vms\":1999,\"grace_ms\":" + graceMs + "}";
    }

    private static String json(Map<String, Integer> m) {
        StringJoiner j = new StringJoiner(",", "{", "}");
        m.forEach((k, v) -> j.add("\"" + k + "\":" + v));
        return j.toString();
    }

    // ---- serving ---------------------------------------------------------------------------------------------

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            open.add(s);
            Thread t = new Thread(() -> serve(s), "fake-genesis-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            for (;;) {
                String requestLine = readHead(in);
                if (requestLine == null) {
                    return;
                }
                String[] parts = requestLine.split(" ");
                String target = parts.length > 1 ? parts[1] : "/";
                if (target.startsWith("/api/ports/plan")) {
                    String body = planJson;
                    if (body == null) {
                        respond(out, "404 Not Found", "{\"error\":\"not found\"}");
                    } else {
                        respond(out, "200 OK", body);
                    }
                } else if (target.startsWith("/api/watch")) {
                    watchRequests.add(target);
                    out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                        + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(snapshot.get().getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    streams.add(out);
                    while (in.read() >= 0) { // held open until either side closes
                        continue;
                    }
                    streams.remove(out);
                    return;
                } else {
                    respond(out, "404 Not Found", "{\"error\":\"not found\"}");
                }
            }
        } catch (IOException e) {
            // the peer went away: nothing to clean up beyond the socket
        } finally {
            open.remove(s);
        }
    }

    private static void respond(OutputStream out, String status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length
            + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(b);
        out.flush();
    }

    /** Reads a request head; returns its first line, or null at end of stream. */
    private static String readHead(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        String first = null;
        for (int i = 0; i < 65_536; i++) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            if (c == '\n') {
                String l = line.toString().strip();
                line.setLength(0);
                if (l.isEmpty()) {
                    return first;
                }
                if (first == null) {
                    first = l;
                }
            } else {
                line.append((char) c);
            }
        }
        throw new IOException("request head too long");
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing for cleanup
        }
    }
}
