package dev.planetary.registry.client.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A scripted stand-in for Genesis on 127.0.0.1 (port 0): each {@code GET /api/watch} takes the next {@link Script}
 * and writes its bytes as they are (no chunked framing, so anything can be sent: garbage, gaps, huge lines), then
 * closes or holds the connection. {@code GET /api/ports/plan} answers {@link #plan} (404 when null). Every request
 * line is recorded.
 */
public final class FakeGenesis implements AutoCloseable {

    /** What one watch connection gets: a status, body pieces, and whether to hold the connection open after. */
    public record Script(int status, List<String> pieces, boolean hold) {
        public static Script events(boolean hold, String... pieces) {
            return new Script(200, List.of(pieces), hold);
        }
    }

    public final List<String> requests = new CopyOnWriteArrayList<>();
    /** When each watch request arrived (System.nanoTime). */
    public final List<Long> watchNanos = new CopyOnWriteArrayList<>();
    public final BlockingQueue<Script> scripts = new LinkedBlockingQueue<>();
    public volatile String plan;
    /** Extra header lines for every watch answer, each ending in CRLF (e.g. a history id). */
    public volatile String watchHeaders = "";
    /** When set, what every watch connection gets once the queue is empty. */
    public volatile Script endless;
    private final ServerSocket server;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    public FakeGenesis() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        acceptor = new Thread(this::accept, "fake-genesis");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public URI uri() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    /** The watch request lines received so far. */
    public List<String> watchRequests() {
        return requests.stream().filter(r -> r.contains("/api/watch")).toList();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                open.add(s);
                Thread t = new Thread(() -> serve(s), "fake-genesis-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setSoTimeout(30_000);
            String head = readHead(s.getInputStream());
            String line = head.lines().findFirst().orElse("");
            if (line.contains("/api/watch")) {
                watchNanos.add(System.nanoTime());
            }
            requests.add(head.lines().filter(l -> l.startsWith("GET") || l.startsWith("Last-Event-ID")
                    || l.startsWith("Genesis-History"))
                .reduce((a, b) -> a + " | " + b).orElse(line));
            OutputStream out = s.getOutputStream();
            if (line.contains("/api/ports/plan")) {
                String p = plan;
                String body = p == null ? "{\"error\": \"not found\"}" : p;
                out.write(("HTTP/1.1 " + (p == null ? "404 Not Found" : "200 OK") + "\r\nContent-Type: "
                    + "application/json\r\nContent-Length: " + body.getBytes(StandardCharsets.UTF_8).length
                    + "\r\nConnection: close\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
                out.flush();
                return;
            }
            Script sc = endless != null && scripts.isEmpty() ? endless : scripts.poll(20, TimeUnit.SECONDS);
            if (sc == null) {
                return;
            }
            out.write(("HTTP/1.1 " + sc.status() + " X\r\nContent-Type: " + (sc.status() == 200 ? "text/event-stream"
                : "application/json") + "\r\n" + watchHeaders + "Connection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            for (String piece : sc.pieces()) {
                out.write(piece.getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
            if (sc.hold()) {
                // until the client goes away or the server closes
                while (s.getInputStream().read() >= 0) {
                    Thread.onSpinWait();
                }
            }
        } catch (IOException e) {
            // the client went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0 && b.size() < 16_384) {
            b.write(c);
            byte[] x = b.toByteArray();
            int n = x.length;
            if (n >= 4 && x[n - 4] == '\r' && x[n - 3] == '\n' && x[n - 2] == '\r' && x[n - 1] == '\n') {
                break;
            }
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    /** An SSE event as Genesis frames it. */
    public static String event(long version, String type, String json) {
        return "id: " + version + "\nevent: " + type + "\ndata: " + json + "\n\n";
    }

    /** A VM as Genesis writes it. */
    public static String vm(String id, String ip, String state) {
        return "{\"id\":\"" + id + "\",\"ip\":\"" + ip + "\",\"cores\":2,\"memory_mb\":0,\"storage_bytes\":0,"
            + "\"services\":{\"pcpu\":7000},\"labels\":{},\"ports\":{\"pcpu\":10001,\"pfsshfs\":20001,"
            + "\"transfer\":30001},\"offset\":1,\"state\":\"" + state + "\",\"registered_at_ms\":1}";
    }

    public static String snapshot(long version, String... vms) {
        return event(version, "snapshot", "{\"version\":" + version + ",\"self_preservation\":false,\"vms\":["
            + String.join(",", vms) + "]}");
    }

    public static String change(long version, String type, String vm) {
        return event(version, type, "{\"version\":" + version + ",\"type\":\"" + type + "\",\"reason\":\"x\","
            + "\"vm\":" + vm + "}");
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing
        }
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }
}
