package dev.planetary.proxy;

import sun.misc.Signal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The training run of the JDK 25 ahead-of-time cache ({@code bin/planetary} with {@code PLANETARY_JDK=25}, JEP
 * 483/514/515): runs the proxy's own {@code main} path (command line, config parser, signals, listeners, accept,
 * connect, relay, soft stop) on loopback, so that the classes it loads and links and the profiles of its hot methods
 * are the ones a real start and its first connections need. The launcher runs it once per jar and JVM flags, under
 * {@code -XX:AOTCacheOutput}; the cache is written when this JVM exits.
 *
 * <p>Everything is on 127.0.0.1 with ports the kernel picks, and the temporary config is removed: a training run
 * leaves nothing behind and never collides with a running proxy.
 */
public final class AotTraining {

    /** Short connections proxied: enough for the connection set-up path to reach the JIT's profiling tiers. */
    static final int SHORT_CONNECTIONS = 3_000;
    /** Connections that move a bulk payload each, so the relay's backpressure path is trained too. */
    static final int BULK_CONNECTIONS = 8;
    /** Bytes per bulk connection: several write-buffer watermarks' worth. */
    static final int BULK_BYTES = 4 << 20;
    /** A bound on the whole run: a training that hangs must not hang the launcher. */
    static final long DEADLINE_MS = 120_000;

    /** The launcher's PID: a training whose launcher was killed ends too, rather than run on orphaned. */
    static final String PARENT_PROPERTY = "planetary.training.parent";

    private AotTraining() {
    }

    /**
     * Ends this JVM once process {@code pid} (the launcher) ends, by SIGKILL: an exit or halt would still write the
     * archive (seconds of work, and a temporary file nobody renames), and nothing waits for it any more.
     */
    static void endWithParent(long pid) {
        if (pid <= 0) {
            return;
        }
        ProcessHandle.of(pid).map(ProcessHandle::onExit)
            .orElse(CompletableFuture.completedFuture(null))
            .thenRun(AotTraining::killSelf);
    }

    private static void killSelf() {
        try {
            new ProcessBuilder("kill", "-KILL", Long.toString(ProcessHandle.current().pid())).start().waitFor();
        } catch (IOException | InterruptedException e) {
            // no kill(1): fall through
        }
        Runtime.getRuntime().halt(1);
    }

    /**
     * Trains, then ends the JVM whatever happened (that is when the archive or cache is written): a failure must not
     * leave the proxy's threads holding the JVM, and with it the launcher that waits for it. Exit 1 on a failure,
     * whose archive the launcher discards.
     */
    public static void main(String[] args) {
        endWithParent(Long.getLong(PARENT_PROPERTY, 0));
        int status = 1;
        try {
            train();
            status = 0;
        } catch (Exception | Error e) {
            System.err.println("aot training failed: " + e);
        } finally {
            System.exit(status);
        }
    }

    private static void train() throws Exception {
        ProxyMain.systemDefaults(); // as ProxyMain.main does
        Warmup.start();
        long deadline = System.currentTimeMillis() + DEADLINE_MS;
        Path dir = Files.createTempDirectory("planetary-aot-training");
        try (ServerSocket echo = new ServerSocket(0, 512, InetAddress.getLoopbackAddress())) {
            Thread backend = new Thread(() -> serveEcho(echo), "aot-training-echo");
            backend.setDaemon(true);
            backend.start();
            int port = freePort();
            Path cfg = Files.writeString(dir.resolve("training.cfg"), """
                global
                    maxconn 1000
                defaults
                    mode tcp
                    timeout connect 2s
                    timeout client 30s
                    timeout server 30s
                listen training
                    bind 127.0.0.1:%d
                    balance leastconn
                    server echo 127.0.0.1:%d
                """.formatted(port, echo.getLocalPort()));
            PrintStream out = System.out;
            PrintStream err = System.err;
            if (ProxyMain.run(new String[] {"-c", "-f", cfg.toString()}, out, err) != 0) {
                throw new IllegalStateException("the training config does not check");
            }
            AtomicInteger exit = new AtomicInteger(-1);
            Thread proxy = new Thread(() -> exit.set(ProxyMain.run(new String[] {"-f", cfg.toString()}, out, err)),
                "aot-training-proxy");
            proxy.start();
            awaitListening(port, deadline, exit);
            byte[] small = "planetary aot training request!\n".getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < SHORT_CONNECTIONS && System.currentTimeMillis() < deadline; i++) {
                roundTrip(port, small, 1);
            }
            byte[] chunk = new byte[64 * 1024];
            for (int i = 0; i < BULK_CONNECTIONS && System.currentTimeMillis() < deadline; i++) {
                roundTrip(port, chunk, BULK_BYTES / chunk.length);
            }
            Signal.raise(new Signal("TERM")); // the proxy's own soft stop, as a user's SIGTERM
            proxy.join(Math.max(1, deadline - System.currentTimeMillis()));
            if (exit.get() != 0) {
                throw new IllegalStateException("the training proxy did not stop cleanly (exit " + exit.get() + ")");
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
        System.out.println("aot training: done");
    }

    /** Writes {@code payload} {@code times} times and reads the same number of bytes back, then closes. */
    private static void roundTrip(int port, byte[] payload, int times) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            OutputStream o = s.getOutputStream();
            InputStream in = s.getInputStream();
            byte[] back = new byte[payload.length];
            for (int t = 0; t < times; t++) {
                o.write(payload);
                int got = 0;
                while (got < back.length) {
                    int n = in.read(back, got, back.length - got);
                    if (n < 0) {
                        throw new IOException("the proxy closed after " + got + " echoed bytes");
                    }
                    got += n;
                }
            }
            s.shutdownOutput();
            in.read(); // the backend's close, relayed: end of stream
        }
    }

    private static void serveEcho(ServerSocket server) {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread t = new Thread(() -> echo(s), "aot-training-echo-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed at the end of the run
            }
        }
    }

    private static void echo(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream o = s.getOutputStream();
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                o.write(buf, 0, n);
            }
        } catch (IOException e) {
            // the client went away: nothing to echo
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void awaitListening(int port, long deadline, AtomicInteger exit) throws InterruptedException {
        while (System.currentTimeMillis() < deadline && exit.get() < 0) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1_000);
                return;
            } catch (IOException e) {
                Thread.sleep(20); // not listening yet
            }
        }
        throw new UncheckedIOException(new IOException("the training proxy never listened on port " + port
            + (exit.get() >= 0 ? " (it exited with " + exit.get() + ")" : "")));
    }
}
