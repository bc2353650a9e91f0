package dev.planetary.registry.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.Node;
import dev.planetary.registry.testing.Node.Res;
import dev.planetary.registry.testing.SseClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Genesis' HTTP server against a slow or greedy client, over real sockets on loopback from several source addresses
 * (127.0.0.2 and up are the attackers, 127.0.0.1 the VMs). Timeouts and caps are configured small so that each
 * attack plays out in about a second.
 */
class UnderAttackTest {

    private static final Duration REQUEST_TIMEOUT = Duration.ofMillis(1_000);
    private static final Duration IDLE_TIMEOUT = Duration.ofMillis(1_500);
    private static final String REGISTER_HEAD = "POST /api/vms HTTP/1.1\r\nHost: genesis\r\n"
        + "Content-Type: application/json\r\n";

    @TempDir
    Path dir;
    Node node;
    final List<Socket> sockets = new ArrayList<>();

    private Node start(int maxConnections, int perSource, int watchBytes) {
        node = Node.start(dir.resolve("data"), Clock.system(), Settings.defaults(),
            new HttpLimits(REQUEST_TIMEOUT, IDLE_TIMEOUT, maxConnections, perSource, watchBytes));
        return node;
    }

    private Node start() {
        return start(1_000, 100, HttpLimits.DEFAULT_WATCH_MAX_QUEUED_BYTES);
    }

    @AfterEach
    void stop() throws IOException {
        for (Socket s : sockets) {
            s.close();
        }
        if (node != null) {
            node.close();
        }
    }

    private Socket connect(String from) throws IOException {
        Socket s = new Socket();
        sockets.add(s);
        s.bind(new InetSocketAddress(from, 0));
        s.connect(new InetSocketAddress("127.0.0.1", node.genesis.port()), 5_000);
        return s;
    }

    /** Reads until the server closes; the bytes read, or null when it is still open after {@code within}. */
    private static String untilClosed(Socket s, Duration within) throws IOException {
        long deadline = System.nanoTime() + within.toNanos();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[8192];
        while (System.nanoTime() < deadline) {
            s.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            try {
                int n = in.read(buf);
                if (n < 0) {
                    return got.toString(StandardCharsets.US_ASCII);
                }
                got.write(buf, 0, n);
            } catch (SocketTimeoutException e) {
                return null;
            } catch (SocketException e) {
                return got.toString(StandardCharsets.US_ASCII); // reset: closed too
            }
        }
        return null;
    }

    private Connections counts() {
        return node.genesis.connections();
    }

    @Test
    void slowLorisIsClosedAtTheRequestTimeoutThoughEveryByteArrivesInTime() throws Exception {
        start();
        Socket s = connect("127.0.0.2");
        OutputStream out = s.getOutputStream();
        byte[] request = (REGISTER_HEAD + "Authorization: Bearer " + Node.TOKEN + "\r\nContent-Length: 13\r\n\r\n"
            + "{\"cores\": 1}").getBytes(StandardCharsets.US_ASCII);
        long start = System.nanoTime();
        // one byte every 200 ms (scaled down from one every 2 s against 10 s): no gap ever reaches the timeout
        int sent = 0;
        boolean closed = false;
        for (; sent < request.length && !closed; sent++) {
            try {
                out.write(request[sent]);
                out.flush();
            } catch (SocketException e) {
                closed = true;
                break;
            }
            s.setSoTimeout(200);
            try {
                closed = s.getInputStream().read() < 0;
            } catch (SocketTimeoutException e) {
                // still open
            } catch (SocketException e) {
                closed = true;
            }
        }
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertThat(closed).as("closed before the request was complete (%d of %d bytes sent)", sent, request.length)
            .isTrue();
        assertThat(sent).isLessThan(request.length);
        assertThat(tookMs).as("closed at about the request timeout").isBetween(900L, 5_000L);
        assertThat(counts().requestTimeouts()).isEqualTo(1);
        assertThat(node.version()).as("nothing registered").isZero();
    }

    @Test
    void partialBodyIsClosedAtTheRequestTimeout() throws Exception {
        start();
        Socket s = connect("127.0.0.2");
        s.getOutputStream().write((REGISTER_HEAD + "Authorization: Bearer " + Node.TOKEN
            + "\r\nContent-Length: 100\r\n\r\n{\"cores\":").getBytes(StandardCharsets.US_ASCII));
        long start = System.nanoTime();
        assertThat(untilClosed(s, Duration.ofSeconds(10))).as("closed").isNotNull();
        assertThat((System.nanoTime() - start) / 1_000_000).isBetween(700L, 5_000L);
        assertThat(counts().requestTimeouts()).isEqualTo(1);
    }

    @Test
    void aConnectionThatSendsNothingIsClosedAtTheRequestTimeoutAnIdleKeepAliveOneAtTheIdleTimeout() throws Exception {
        start();
        Socket silent = connect("127.0.0.2");
        Socket keepAlive = connect("127.0.0.3");
        keepAlive.getOutputStream().write("GET /api/health HTTP/1.1\r\nHost: genesis\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
        long start = System.nanoTime();
        assertThat(untilClosed(silent, Duration.ofSeconds(10))).as("silent connection closed").isNotNull();
        long silentMs = (System.nanoTime() - start) / 1_000_000;
        String answered = untilClosed(keepAlive, Duration.ofSeconds(10));
        long idleMs = (System.nanoTime() - start) / 1_000_000;
        assertThat(answered).as("idle keep-alive connection closed").startsWith("HTTP/1.1 200 OK")
            .contains("\"status\":\"ok\"");
        assertThat(silentMs).isBetween(700L, 5_000L);
        assertThat(idleMs).as("after the idle timeout, not the request timeout").isBetween(1_300L, 6_000L);
        assertThat(counts().requestTimeouts()).isEqualTo(1);
        assertThat(counts().idleTimeouts()).isEqualTo(1);
    }

    @Test
    void aWatchStreamOutlivesTheIdleAndRequestTimeouts() throws Exception {
        start();
        try (SseClient w = new SseClient(node.http, node.base() + "/api/watch")) {
            assertThat(w.next(Duration.ofSeconds(10)).type()).isEqualTo("snapshot");
            Thread.sleep(IDLE_TIMEOUT.plus(REQUEST_TIMEOUT).toMillis() + 500); // nothing sent either way
            node.register("{\"cores\": 1}");
            assertThat(w.next(Duration.ofSeconds(10)).type()).as("still open").isEqualTo("added");
        }
        assertThat(counts().idleTimeouts() + counts().requestTimeouts()).isZero();
    }

    @Test
    void perSourceCapRefusesPolitelyAndLeavesOtherSourcesAlone() throws Exception {
        start(1_000, 5, HttpLimits.DEFAULT_WATCH_MAX_QUEUED_BYTES);
        for (int i = 0; i < 5; i++) {
            connect("127.0.0.2");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> counts().open() == 5);
        Socket sixth = connect("127.0.0.2");
        String answer = untilClosed(sixth, Duration.ofSeconds(5));
        assertThat(answer).startsWith("HTTP/1.1 503 ").contains("Connection: close").contains("too many connections");
        assertThat(counts().refused()).isEqualTo(1);
        assertThat(node.genesis.faults().reports()).as("one source's own cap is not Genesis' fault").isZero();
        Socket other = connect("127.0.0.3");
        other.getOutputStream().write("GET /api/health HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII));
        assertThat(untilClosed(other, Duration.ofSeconds(5))).startsWith("HTTP/1.1 200 OK");
        Res health = node.get("/api/health");
        assertThat(health.json().at("/connections/refused").longValue()).isEqualTo(1);
        assertThat(health.json().at("/connections/max_per_source").intValue()).isEqualTo(5);
    }

    @Test
    void totalCapRefusesOnceReached() throws Exception {
        start(6, 100, HttpLimits.DEFAULT_WATCH_MAX_QUEUED_BYTES);
        for (int i = 0; i < 6; i++) {
            connect("127.0.0." + (2 + i));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> counts().open() == 6);
        assertThat(untilClosed(connect("127.0.0.20"), Duration.ofSeconds(5))).startsWith("HTTP/1.1 503 ");
        assertThat(counts().refused()).isEqualTo(1);
        assertThat(node.genesis.faults().reports()).as("VMs may be among the refused: expiry is held").isEqualTo(1);
    }

    @Test
    void vmsRegisterAndHeartbeatWhileAnAttackerHoldsItsMaximumDripFeeding() throws Exception {
        int perSource = 20;
        start(1_000, perSource, HttpLimits.DEFAULT_WATCH_MAX_QUEUED_BYTES);
        List<Socket> attack = new ArrayList<>();
        for (int i = 0; i < perSource + 5; i++) {
            Socket s = connect("127.0.0.2");
            s.getOutputStream().write("P".getBytes(StandardCharsets.US_ASCII));
            attack.add(s);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> counts().open() == perSource);
        assertThat(counts().refused()).isEqualTo(5);
        for (int round = 0; round < 3; round++) {
            Res reg = node.register("{\"cores\": 1, \"instance\": \"vm-" + round + "\"}");
            assertThat(reg.status()).as(reg.body()).isEqualTo(201);
            String id = reg.json().get("id").asText();
            assertThat(node.heartbeat(id).status()).isEqualTo(200);
            // the attacker tops up as its connections time out
            for (int i = 0; i < attack.size(); i++) {
                Socket s = attack.get(i);
                if (s.isClosed() || untilClosed(s, Duration.ofMillis(1)) != null) {
                    attack.set(i, connect("127.0.0.2"));
                }
            }
        }
        assertThat(node.get("/api/pcpu/count").json().get("vms").intValue()).isEqualTo(3);
    }

    @Test
    void aBadCredentialIsAnsweredOnTheHeadersAndTheBodyIsNeverWaitedFor() throws Exception {
        start();
        String id = node.register("{\"cores\": 1}").json().get("id").asText();
        long v = node.version();
        // 60,000 bytes announced (under the 413 limit), none sent: the answer must not wait for them
        String[] requests = {
            REGISTER_HEAD + "Authorization: Bearer wrong-token\r\nContent-Length: 60000\r\n\r\n",
            REGISTER_HEAD + "Content-Length: 60000\r\n\r\n",
            "PUT /api/vms/" + id + "/heartbeat HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer " + Node.TOKEN
                + "\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n",
            "DELETE /api/vms/" + id + " HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer " + Node.TOKEN
                + "\r\nContent-Length: 60000\r\n\r\n",
        };
        String[] expected = {"HTTP/1.1 401 ", "HTTP/1.1 401 ", "HTTP/1.1 403 ", "HTTP/1.1 403 "};
        for (int i = 0; i < requests.length; i++) {
            Socket s = connect("127.0.0.2");
            s.getOutputStream().write(requests[i].getBytes(StandardCharsets.US_ASCII));
            s.setSoTimeout(800); // well under the request timeout: answered on the headers
            byte[] buf = new byte[4096];
            int n = s.getInputStream().read(buf);
            assertThat(n).as("answered without the body: %s", requests[i]).isPositive();
            assertThat(new String(buf, 0, n, StandardCharsets.US_ASCII)).startsWith(expected[i])
                .containsIgnoringCase("connection: close");
        }
        assertThat(counts().unauthorized()).isEqualTo(4);
        assertThat(node.version()).isEqualTo(v);
        assertThat(node.get("/api/vms/" + id).json().get("state").asText()).isEqualTo("active");
    }

    @Test
    void aWatcherThatDoesNotReadIsCutOffOnceItsQueuePassesTheBound() throws Exception {
        start(1_000, 100, 64 * 1024);
        Socket w = new Socket();
        sockets.add(w);
        w.setReceiveBufferSize(2048); // before the connect: a small window, so the server's buffers fill
        w.bind(new InetSocketAddress("127.0.0.2", 0));
        w.connect(new InetSocketAddress("127.0.0.1", node.genesis.port()), 5_000);
        w.getOutputStream().write("GET /api/watch HTTP/1.1\r\nHost: g\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        await().atMost(Duration.ofSeconds(10)).until(() -> node.genesis.hub().subscribers() == 1);
        StringBuilder labels = new StringBuilder();
        for (int i = 0; i < 60; i++) {
            labels.append(i == 0 ? "" : ", ").append("\"k").append(i).append("\": \"").append("v".repeat(250))
                .append('"');
        }
        // each change is about 16 KB; the watcher reads nothing
        for (int i = 0; i < 200 && counts().watchersCut() == 0; i++) {
            Res r = node.register("{\"cores\": 1, \"labels\": {" + labels + "}}");
            assertThat(r.status()).as(r.body()).isEqualTo(201);
        }
        assertThat(counts().watchersCut()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> node.genesis.hub().subscribers() == 0);
        // closed (after the linger) although it never read its last comment
        assertThat(untilClosed(w, Duration.ofSeconds(60))).isNotNull();
    }
}
