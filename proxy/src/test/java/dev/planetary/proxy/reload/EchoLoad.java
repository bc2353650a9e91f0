package dev.planetary.proxy.reload;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.testkit.Launcher;
import org.awaitility.Awaitility;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The steady load of the reload and hand-over tests, against echo servers behind the proxy: client loops that each
 * open a connection, send a random chunk, check the echo and close, round-robin over a run of ports; and long-lived
 * connections that stream chunks and check every echo until told to stop. Every loop is bounded in count.
 */
final class EchoLoad implements AutoCloseable {

    /** Bytes per chunk, each way. */
    static final int CHUNK = 4096;
    /** Most connections one client loop opens (the tests stop it long before). */
    private static final int MAX_CONNECTIONS = 200_000;
    /** Most chunks one long-lived connection sends. */
    private static final int MAX_CHUNKS = 1_000_000;
    /** Pause between a long-lived connection's chunks: steady, not flooding; the point is to stay open. */
    private static final long STREAM_PAUSE_MS = 2;

    final AtomicLong attempted = new AtomicLong();
    final AtomicLong completed = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final AtomicReference<Throwable> firstFailure = new AtomicReference<>();
    /** Long-lived connections that had their first chunk echoed. */
    private final AtomicLong streaming = new AtomicLong();
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final AtomicBoolean stopClients = new AtomicBoolean();
    private final AtomicBoolean stopStreams = new AtomicBoolean();
    private final List<Future<?>> clients = new ArrayList<>();
    private final List<Future<Long>> streams = new ArrayList<>();

    /** Opens {@code count} long-lived connections over ports {@code port..port+ports-1}. */
    EchoLoad longLived(int count, int port, int ports) throws IOException {
        for (int i = 0; i < count; i++) {
            Socket s = new Socket();
            s.connect(new InetSocketAddress("127.0.0.1", port + i % ports), 2000);
            s.setSoTimeout(20_000);
            int seed = i;
            streams.add(pool.submit(() -> stream(s, seed)));
        }
        return this;
    }

    /** Starts {@code count} loops of new connections over ports {@code port..port+ports-1}. */
    EchoLoad newConnections(int count, int port, int ports) {
        for (int c = 0; c < count; c++) {
            int seed = 100 + c;
            clients.add(pool.submit(() -> {
                Random rnd = new Random(seed);
                byte[] data = new byte[CHUNK];
                for (int n = 0; n < MAX_CONNECTIONS && !stopClients.get(); n++) {
                    attempted.incrementAndGet();
                    rnd.nextBytes(data);
                    try (Socket s = new Socket()) {
                        s.connect(new InetSocketAddress("127.0.0.1", port + n % ports), 2000);
                        s.setSoTimeout(10_000);
                        s.getOutputStream().write(data);
                        byte[] back = s.getInputStream().readNBytes(data.length);
                        if (!Arrays.equals(back, data)) {
                            throw new IOException("echo differs (" + back.length + " bytes back)");
                        }
                        completed.incrementAndGet();
                    } catch (IOException e) {
                        failed.incrementAndGet();
                        firstFailure.compareAndSet(null, e);
                    }
                }
            }));
        }
        return this;
    }

    /** Waits until {@code count} long-lived connections have each had a chunk echoed. */
    void awaitStreaming(int count) {
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> streaming.get() >= count);
    }

    /** Waits until {@code more} connections completed after this call. */
    void awaitMore(long more) {
        long before = completed.get();
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> completed.get() >= before + more);
    }

    /** Stops the client loops and waits for them. */
    void stopNewConnections() throws Exception {
        stopClients.set(true);
        for (Future<?> c : clients) {
            c.get(30, TimeUnit.SECONDS);
        }
    }

    /** Stops the long-lived connections (they close) and returns the bytes they checked. */
    long stopLongLived() throws Exception {
        stopStreams.set(true);
        long total = 0;
        for (Future<Long> f : streams) {
            total += f.get(30, TimeUnit.SECONDS);
        }
        return total;
    }

    private long stream(Socket s, int seed) throws IOException, InterruptedException {
        Random rnd = new Random(seed);
        byte[] data = new byte[CHUNK];
        long total = 0;
        try (s) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            for (int n = 0; n < MAX_CHUNKS && !stopStreams.get(); n++) {
                rnd.nextBytes(data);
                out.write(data);
                if (!Arrays.equals(in.readNBytes(data.length), data)) {
                    throw new IOException("long-lived connection " + seed + ": echo differs after " + total + " bytes");
                }
                if (total == 0) {
                    streaming.incrementAndGet();
                }
                total += data.length;
                Thread.sleep(STREAM_PAUSE_MS);
            }
        }
        return total;
    }

    @Override
    public void close() {
        stopClients.set(true);
        stopStreams.set(true);
        pool.shutdownNow();
    }

    /** A new connection to {@code port} echoes. */
    static void assertEchoes(int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(5_000);
            s.getOutputStream().write("ping".getBytes());
            assertThat(new String(s.getInputStream().readNBytes(4))).isEqualTo("ping");
        }
    }

    /** The proxy's jar (failsafe sets {@code planetary.jar}) and this JVM's java, for tests that start processes. */
    static List<String> javaJar() {
        String java = Launcher.java();
        return List.of(java, "-Xmx128m", "-jar", Launcher.builtJar().toString());
    }
}
