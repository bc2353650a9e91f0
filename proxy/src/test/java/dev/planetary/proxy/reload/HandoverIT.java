package dev.planetary.proxy.reload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

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
    /** Connections left waiting in the old process's accept queue at the hand-over. */
    private static final int QUEUED = 20;

    @TempDir
    Path dir;

    private final Backends backends = new Backends();
    private final List<Process> started = new ArrayList<>();
    private EchoLoad load;
    private int seq;

    @AfterEach
    void tearDown() {
        if (load != null) {
            load.close();
        }
        started.forEach(Procs::killNow);
        backends.close();
    }

    private Procs.Running start(String... args) {
        int n = ++seq;
        Path out = dir.resolve("p" + n + ".out");
        Path err = dir.resolve("p" + n + ".err");
        List<String> cmd = new ArrayList<>(EchoLoad.javaJar());
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

        load = new EchoLoad().longLived(LONG_LIVED, port, PORTS).newConnections(CLIENTS, port, PORTS);
        load.awaitMore(200);

        long atLaunch = load.completed.get();
        Procs.Running fresh = start("-f", cfg.toString(), "--handover-socket", sock.toString(), "-p",
            pidFile.toString(), "-x", sock.toString(), "-sf", Long.toString(old.pid()));
        await("old process told to stop").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
            .until(() -> !fresh.process().isAlive() || old.stderr().contains("stopping: no new connections"));
        assertThat(fresh.process().isAlive()).as("new running; %s", fresh.output()).isTrue();
        assertThat(fresh.stderr()).contains("took " + PORTS * 2 + " listening sockets (" + PORTS + " addresses)");
        assertThat(old.process().isAlive()).as("old drains its long-lived connections").isTrue();
        long atHandover = load.completed.get();
        load.awaitMore(200);
        load.stopNewConnections();
        long streamed = load.stopLongLived();
        assertThat(old.process().waitFor(20, TimeUnit.SECONDS)).as("old exited after draining; %s", old.output())
            .isTrue();
        System.out.printf("hand-over under load: %d ports, new connections attempted %d, completed %d, failed %d"
                + " (%d while the new process started, %d after the old one stopped accepting); %d long-lived connections on the old process streamed %d bytes"
                + " intact; old exit %d%n", PORTS, load.attempted.get(), load.completed.get(), load.failed.get(),
            atHandover - atLaunch, load.completed.get() - atHandover, LONG_LIVED, streamed, old.process().exitValue());
        assertThat(load.failed.get()).as("first failure: %s", load.firstFailure.get()).isZero();
        assertThat(load.completed.get()).isEqualTo(load.attempted.get());
        assertThat(old.process().exitValue()).isZero();
        assertThat(Files.readString(pidFile).trim()).isEqualTo(Long.toString(fresh.pid()));
        assertThat(sock).as("the new process's socket stays").exists();
        for (int p = port; p < port + PORTS; p++) {
            EchoLoad.assertEchoes(p);
        }
        assertThat(old.output()).doesNotContain("Exception");
        assertThat(fresh.output()).doesNotContain("Exception");
    }

    /**
     * The case the shared sockets exist for: connections that wait in the old process's accept queue when it stops
     * accepting. The old process is held at its frontend maxconn (its listeners paused), so new connections wait in
     * the kernel's queue of its sockets; the new process (maxconn raised) takes those sockets and serves every one.
     * A new process that bound fresh sockets instead would leave them in the old sockets' queues, and the old one's
     * soft stop would reset them.
     */
    @Test
    void connectionsWaitingInTheOldProcessQueueAreServedByTheNewOne() throws Exception {
        int port = Ports.pcpu();
        int echo = backends.echo("e1").port();
        String text = """
            global
                nbthread 2
                hard-stop-after 60s
            defaults
                mode tcp
                timeout connect 2s
                timeout client 60s
                timeout server 60s
            frontend fe
                bind 127.0.0.1:%d
                maxconn %d
                default_backend be
            backend be
                server e1 127.0.0.1:%d
            """;
        Path oldCfg = Files.writeString(dir.resolve("old.cfg"), text.formatted(port, LONG_LIVED, echo));
        Path newCfg = Files.writeString(dir.resolve("new.cfg"), text.formatted(port, 100, echo));
        Path sock = dir.resolve("h.sock");
        Path pidFile = dir.resolve("h.pid");
        Procs.Running old = start("-f", oldCfg.toString(), "--handover-socket", sock.toString(), "-p",
            pidFile.toString());
        await("old process up").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
            .until(() -> !old.process().isAlive() || Files.exists(pidFile));
        assertThat(old.process().isAlive()).as("old running; %s", old.output()).isTrue();

        load = new EchoLoad().longLived(LONG_LIVED, port, 1); // the old process is full
        load.awaitStreaming(LONG_LIVED);
        List<Socket> waiting = new ArrayList<>();
        for (int i = 0; i < QUEUED; i++) { // handshakes complete in the kernel; the old process does not accept
            Socket s = new Socket();
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(10_000);
            waiting.add(s);
        }

        Procs.Running fresh = start("-f", newCfg.toString(), "--handover-socket", sock.toString(), "-p",
            pidFile.toString(), "-x", sock.toString(), "-sf", Long.toString(old.pid()));
        int served = 0;
        List<String> failures = new ArrayList<>();
        for (Socket s : waiting) {
            try (s) {
                s.getOutputStream().write("queued".getBytes());
                if (new String(s.getInputStream().readNBytes(6)).equals("queued")) {
                    served++;
                } else {
                    failures.add("closed without an echo");
                }
            } catch (IOException e) {
                failures.add(e.toString());
            }
        }
        long streamed = load.stopLongLived();
        assertThat(old.process().waitFor(20, TimeUnit.SECONDS)).as("old exited; %s", old.output()).isTrue();
        System.out.printf("hand-over with %d connections waiting in the old process's queue: %d served, %d failed"
            + " %s; %d long-lived connections streamed %d bytes intact; old exit %d%n", QUEUED, served,
            failures.size(), failures.stream().distinct().toList(), LONG_LIVED, streamed, old.process().exitValue());
        assertThat(failures).isEmpty();
        assertThat(served).isEqualTo(QUEUED);
        assertThat(old.process().exitValue()).isZero();
        assertThat(fresh.process().isAlive()).as("new running; %s", fresh.output()).isTrue();
    }
}
