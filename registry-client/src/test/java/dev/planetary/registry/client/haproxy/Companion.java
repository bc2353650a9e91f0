package dev.planetary.registry.client.haproxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.ports.PortPlan;
import dev.planetary.registry.Genesis;
import dev.planetary.registry.client.Agent;
import dev.planetary.registry.client.AgentOptions;
import dev.planetary.registry.client.SwarmWatch;
import dev.planetary.registry.client.WatchOptions;
import dev.planetary.registry.client.testing.TestGenesis;
import dev.planetary.registry.state.Settings;
import dev.planetary.testkit.Procs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The companion's world for a test: a real Genesis in this JVM (small port plan), the haproxy.cfg printed by
 * {@code sync-haproxy --print-config} for it, a real HAProxy started on loopback with that file (socket in a temp
 * dir, stopped by PID), the sync following the watch, and VMs: echo servers on 127.0.0.x that register through the
 * registry-client Agent from their own address.
 */
final class Companion implements AutoCloseable {

    static final String HAPROXY = Files.isExecutable(Path.of("/usr/sbin/haproxy")) ? "/usr/sbin/haproxy" : "haproxy";

    final Path dir;
    final int base;
    final int size;
    final Genesis.Options genesisOptions;
    Genesis genesis;
    final Path cfg;
    final Path socket;
    final Path pins;
    Procs.Running haproxy;
    HaproxySync sync;
    SwarmWatch watch;
    final List<Vm> vms = new ArrayList<>();

    /** A VM: an echo server answering its name, and its agent. */
    static final class Vm implements AutoCloseable {
        final String name;
        final ServerSocket server;
        final Thread thread;
        Agent agent;

        Vm(String name, String ip) throws IOException {
            this.name = name;
            this.server = new ServerSocket();
            server.bind(new InetSocketAddress(ip, 0), 200);
            this.thread = new Thread(this::serve, "vm-" + name);
            thread.setDaemon(true);
            thread.start();
        }

        int port() {
            return server.getLocalPort();
        }

        /** Answers its name, then holds the connection until the client closes it (a live session). */
        private void serve() {
            while (!server.isClosed()) {
                Socket s;
                try {
                    s = server.accept();
                } catch (IOException e) {
                    continue; // closed: the loop ends
                }
                Thread t = new Thread(() -> {
                    try (s) {
                        s.getOutputStream().write((name + "\n").getBytes(StandardCharsets.UTF_8));
                        s.setSoTimeout(60_000);
                        s.getInputStream().transferTo(OutputStream.nullOutputStream());
                    } catch (IOException e) {
                        // the client left
                    }
                }, "vm-" + name + "-conn");
                t.setDaemon(true);
                t.start();
            }
        }

        @Override
        public void close() {
            if (agent != null) {
                agent.close();
            }
            try {
                server.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    Companion(Path dir, int size, Duration drain) throws Exception {
        this(dir, size, drain, false);
    }

    Companion(Path dir, int size, Duration drain, boolean masterWorker) throws Exception {
        this.dir = dir;
        this.size = size;
        this.base = freeBlock(3 * size + 2);
        PortPlan plan = PortPlan.parse("pcpu=" + base + "-" + (base + size - 1) + ",pfsshfs=" + (base + size) + "-"
            + (base + 2 * size - 1) + ",transfer=" + (base + 2 * size) + "-" + (base + 3 * size - 1));
        this.genesisOptions = new Genesis.Options(new InetSocketAddress("127.0.0.1", TestGenesis.freePort()), null,
            dir.resolve("genesis"), new Settings(Duration.ofMillis(100), Duration.ofSeconds(2), drain,
            Duration.ofSeconds(60)), false, TestGenesis.TOKEN, plan, false);
        startGenesis();
        this.cfg = dir.resolve("haproxy.cfg");
        this.socket = dir.resolve("admin.sock");
        this.pins = dir.resolve("pinned.map");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = SyncHaproxyMain.run(new String[] {"--genesis", uri(), "--socket", socket.toString(),
            "--print-config", "--pinned-map", pins.toString(), "--stats", "127.0.0.1:" + TestGenesis.freePort(),
            "--ws-port", Integer.toString(base + 3 * size), "--maxconn", "500"},
            new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        Files.writeString(cfg, out.toString(StandardCharsets.UTF_8));
        assertThat(pins).as("--print-config creates the empty map HAProxy needs").exists();
        Procs.Result check = Procs.run(dir, null, Duration.ofSeconds(30), List.of(HAPROXY, "-c", "-f", cfg.toString()));
        assertThat(check.code()).as(check.toString()).isZero();
        assertThat(check.stderr() + check.out()).doesNotContain("WARNING").doesNotContain("ALERT");
        if (masterWorker) {
            startHaproxyMasterWorker();
        } else {
            startHaproxy();
        }
    }

    String uri() {
        return "http://127.0.0.1:" + genesisOptions.listen().getPort();
    }

    void startGenesis() throws IOException {
        genesis = Genesis.start(genesisOptions, dev.planetary.registry.state.Clock.system(), new SecureRandom(),
            why -> { });
    }

    void stopGenesis() {
        genesis.close();
        genesis = null;
    }

    /** HAProxy in the foreground (-db: one process, its pid is the one `show info` reports). */
    void startHaproxy() {
        haproxy = Procs.start(dir, null, List.of(HAPROXY, "-db", "-f", cfg.toString()));
    }

    /** HAProxy in master-worker mode (-W), as systemd runs it: SIGUSR2 to the master reloads into a new worker. */
    void startHaproxyMasterWorker() {
        haproxy = Procs.start(dir, null, List.of(HAPROXY, "-W", "-db", "-f", cfg.toString()));
    }

    /** A reload as `systemctl reload haproxy` does it: SIGUSR2 to the master (this test's own process). */
    void reloadHaproxy() throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-USR2", Long.toString(haproxy.pid())).inheritIO().start();
        assertThat(kill.waitFor()).isZero();
    }

    void killHaproxy() throws InterruptedException {
        Procs.killNow(haproxy.process());
        haproxy.process().waitFor();
    }

    void startSync(Duration resync) {
        sync = HaproxySync.start(new HaproxySync.Options(socket, SyncHaproxyMain.DEFAULT_MAP, pins,
            HaproxySync.Options.DEFAULT_COMMAND_TIMEOUT, resync));
        watch = SwarmWatch.start(List.of(java.net.URI.create(uri())), sync, WatchOptions.builder()
            .initialBackoff(Duration.ofMillis(20)).maxBackoff(Duration.ofMillis(200)).random(new Random(1)).build());
    }

    Vm vm(String name, String ip) throws IOException {
        Vm v = new Vm(name, ip);
        vms.add(v);
        return v;
    }

    /** Registers the VM with Genesis from its own address, declaring its echo port as pcpu and ssh. */
    Agent register(Vm v) throws IOException {
        v.agent = Agent.start(AgentOptions.builder().genesis(java.net.URI.create(uri())).token(TestGenesis.TOKEN)
            .cores(2).instance("host-" + v.name).service("pcpu", v.port()).service("ssh", v.port())
            .address(InetAddress.getByName(v.server.getInetAddress().getHostAddress()))
            .initialBackoff(Duration.ofMillis(20)).maxBackoff(Duration.ofMillis(200)).random(new Random(7))
            .build());
        return v.agent;
    }

    int entrance() {
        return base;
    }

    /** The pfsshfs entrance (source-hashed). */
    int pfsshfsEntrance() {
        return base + size;
    }

    /** What one connection to 127.0.0.1:port through HAProxy reads: the VM's name, or "" when closed on it. */
    static String ask(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(3000);
            String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8))
                .readLine();
            return line == null ? "" : line.strip();
        } catch (IOException e) {
            return "";
        }
    }

    /** HAProxy's answer to one runtime command, on a connection of the test's own. */
    String cli(String cmd) throws IOException {
        try (RuntimeApi api = RuntimeApi.connect(socket, Duration.ofSeconds(5))) {
            return api.command(cmd);
        }
    }

    long haproxyPid() throws IOException {
        String id = HaproxySync.identity(cli("show info"));
        return Long.parseLong(id.split(" ")[1]);
    }

    /** A block of n ports free on 127.0.0.1 right now, within 15000-19999 (outside the ephemeral range). */
    static int freeBlock(int n) {
        Random r = new Random();
        for (int attempt = 0; attempt < 50; attempt++) {
            int b = 15000 + r.nextInt(5000 - n);
            if (allFree(b, n)) {
                return b;
            }
        }
        throw new IllegalStateException("no block of " + n + " free ports in 15000-19999");
    }

    private static boolean allFree(int b, int n) {
        for (int p = b; p < b + n; p++) {
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress("127.0.0.1", p));
            } catch (IOException e) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        if (watch != null) {
            watch.close();
        }
        if (sync != null) {
            sync.close();
        }
        vms.forEach(Vm::close);
        if (haproxy != null) {
            Procs.kill(haproxy.process());
        }
        if (genesis != null) {
            genesis.close();
        }
    }
}
