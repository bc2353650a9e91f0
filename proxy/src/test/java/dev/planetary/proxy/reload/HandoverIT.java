package dev.planetary.proxy.reload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
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
 * Seamless hand-over between two real proxy processes (HAProxy's {@code -x SOCKET -sf PID}): while clients open
 * connections against three ports and long-lived connections stream through the old process, a new process takes
 * the listening sockets over the old one's unix socket and tells it to stop softly. No connection may be refused or
 * lose a byte, the long-lived connections finish intact on the old process, which then exits 0, and the new one
 * serves every port.
 */
class HandoverIT {

    private static final int PORTS = 3;
    private static final int LONG_LIVED = 4;
    private static final int CLIENTS = 2;
    private static final int CHUNK = 2048;

    private static Path jar;
    private static String java;

    @TempDir
    Path dir;

    private final Backends backends = new Backends();
    private final List<Process> started = new ArrayList<>();
    private ExecutorService pool;
    private int seq;

    @BeforeAll
    static void locate() {
        String j = System.getProperty("planetary.jar");
        assertThat(j).as("system property planetary.jar (set by failsafe)").isNotBlank();
        jar = Path.of(j).toAbsolutePath();
        java = ProcessHandle.current().info().command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    @AfterEach
    void tearDown() {
        if (pool != null) {
            pool.shutdownNow();
        }
        started.forEach(Procs::killNow);
        backends.close();
    }

    private Procs.Running start(String... args) {
        int n = ++seq;
        Path out = dir.resolve("p" + n + ".out");
        Path err = dir.resolve("p" + n + ".err");
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx128m", "-jar", jar.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
            .redirectOutput(out.toFile()).redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().put("_JAVA_SR_SIGNUM", Launcher.srSignum());
        try {
            Procs.Running r = new Procs.Running(pb.start(), out, err);
            started.add(r.process());
            return r;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aNewProcessTakesTheListenersUnderLoadAndTheOldOneDrainsAndExits() throws Exception {
        int port = Ports.pcpuRun(PORTS);
        int echo = backends.echo("e1").port();
        Path cfg = Files.writeString(dir.resolve("handover.cfg"), """
            global
                maxconn 500
                nbthread 2
                hard-stop-after 60s
            defaults
                mode tcp
                timeout connect 2s
                timeout client 60s
                timeout server 60s
            frontend fe
                bind 127.0.0.1:%d-%d
                default_backend be
            backend be
                server e1 127.0.0.1:%d
            """.formatted(port, port + PORTS - 1, echo));
        Path sock = dir.resolve("handover.sock");
        Path pidFile = dir.resolve("planetary.pid");
        Procs.Running old = start("-f", cfg.toString(), "--handover-socket", sock.toString(), "-p",
            pidFile.toString());
        await("old process up").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
            .until(() -> !old.process().isAlive() || Files.exists(pidFile));
        assertThat(old.process().isAlive()).as("old running; %s", old.output()).isTrue();
        assertThat(Files.readString(pidFile).trim()).isEqualTo(Long.toString(old.pid()));
        assertThat(Files.getPosixFilePermissions(sock)).extracting(Object::toString)
            .containsExactlyInAnyOrder("OWNER_READ", "OWNER_WRITE");

        pool = Executors.newCachedThreadPool();
        AtomicBoolean stopClients = new AtomicBoolean();
        AtomicBoolean stopLongLived = new AtomicBoolean();
        AtomicLong attempted = new AtomicLong();
        AtomicLong completed = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicReference<Throwable> firstFailure = new AtomicReference<>();
        List<Future<Long>> longLived = new ArrayList<>();
        for (int i = 0; i < LONG_LIVED; i++) {
            Socket s = new Socket();
            s.connect(new InetSocketAddress("127.0.0.1", port + i % PORTS), 2000);
            s.setSoTimeout(20_000);
            int seed = i;
            longLived.add(pool.submit(() -> stream(s, seed, stopLongLived)));
        }
        List<Future<?>> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            int seed = 100 + c;
            clients.add(pool.submit(() -> {
                Random rnd = new Random(seed);
                byte[] data = new byte[CHUNK];
                for (int n = 0; n < 200_000 && !stopClients.get(); n++) {
                    attempted.incrementAndGet();
                    rnd.nextBytes(data);
                    try (Socket s = new Socket()) {
                        s.connect(new InetSocketAddress("127.0.0.1", port + n % PORTS), 2000);
                        s.setSoTimeout(10_000);
                        s.getOutputStream().write(data);
                        if (!Arrays.equals(s.getInputStream().readNBytes(data.length), data)) {
                            throw new IOException("echo differs");
                        }
                        completed.incrementAndGet();
                    } catch (IOException e) {
                        failed.incrementAndGet();
                        firstFailure.compareAndSet(null, e);
                    }
                }
            }));
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> completed.get() >= 200);

        long atLaunch = completed.get();
        Procs.Running fresh = start("-f", cfg.toString(), "--handover-socket", sock.toString(), "-p",
            pidFile.toString(), "-x", sock.toString(), "-sf", Long.toString(old.pid()));
        await("old process told to stop").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
            .until(() -> !fresh.process().isAlive() || old.stderr().contains("stopping: no new connections"));
        assertThat(fresh.process().isAlive()).as("new running; %s", fresh.output()).isTrue();
        assertThat(fresh.stderr()).contains("took " + PORTS * 2 + " listening sockets (" + PORTS + " addresses)");
        assertThat(old.process().isAlive()).as("old drains its long-lived connections").isTrue();
        long atHandover = completed.get();
        await().atMost(Duration.ofSeconds(20)).until(() -> completed.get() >= atHandover + 200);
        stopClients.set(true);
        for (Future<?> c : clients) {
            c.get(30, TimeUnit.SECONDS);
        }
        stopLongLived.set(true);
        long streamed = 0;
        for (Future<Long> f : longLived) {
            streamed += f.get(30, TimeUnit.SECONDS);
        }
        assertThat(old.process().waitFor(20, TimeUnit.SECONDS)).as("old exited after draining; %s", old.output())
            .isTrue();
        System.out.printf("hand-over under load: %d ports, new connections attempted %d, completed %d, failed %d"
                + " (%d while the new process started, %d after the old one stopped accepting); %d long-lived connections on the old process streamed %d bytes"
                + " intact; old exit %d%n", PORTS, attempted.get(), completed.get(), failed.get(),
            atHandover - atLaunch, completed.get() - atHandover, LONG_LIVED, streamed, old.process().exitValue());
        assertThat(failed.get()).as("first failure: %s", firstFailure.get()).isZero();
        assertThat(completed.get()).isEqualTo(attempted.get());
        assertThat(old.process().exitValue()).isZero();
        assertThat(Files.readString(pidFile).trim()).isEqualTo(Long.toString(fresh.pid()));
        assertThat(sock).as("the new process's socket stays").exists();
        for (int p = port; p < port + PORTS; p++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", p), 2000);
                s.setSoTimeout(5_000);
                s.getOutputStream().write("ping".getBytes());
                assertThat(new String(s.getInputStream().readNBytes(4))).isEqualTo("ping");
            }
        }
        assertThat(old.output()).doesNotContain("Exception");
        assertThat(fresh.output()).doesNotContain("Exception");
    }

    private static long stream(Socket s, int seed, AtomicBoolean stop) throws IOException {
        Random rnd = new Random(seed);
        byte[] data = new byte[CHUNK];
        long total = 0;
        try (s) {
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            for (int n = 0; n < 1_000_000 && !stop.get(); n++) {
                rnd.nextBytes(data);
                out.write(data);
                if (!Arrays.equals(in.readNBytes(data.length), data)) {
                    throw new IOException("long-lived connection " + seed + ": echo differs after " + total);
                }
                total += data.length;
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        return total;
    }
}
