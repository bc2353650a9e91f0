package dev.planetary.registry.testing;

import dev.planetary.registry.etcd.EtcdEndpoints;
import dev.planetary.testkit.Procs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A single-member etcd started by a test: {@code etcd} from PATH (else {@code /usr/bin/etcd}) with its data dir under the test's temporary
 * directory, client and peer on free loopback ports, stopped by its PID (never the system service).
 */
public final class EtcdProcess implements AutoCloseable {

    /** Where Debian's etcd-server puts the binary. */
    public static final Path BINARY = Path.of("/usr/bin/etcd");
    /** A loaded machine starts etcd in about a second; far more than that is a broken start. */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private final Path dir;
    private final int clientPort;
    private final int peerPort;
    private volatile Procs.Running proc;

    private EtcdProcess(Path dir, int clientPort, int peerPort) {
        this.dir = dir;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
    }

    /** Starts etcd in {@code dir} and waits until it answers {@code /health}. */
    public static EtcdProcess start(Path dir) throws IOException, InterruptedException {
        EtcdProcess e = new EtcdProcess(dir, freePort(), freePort());
        e.run();
        return e;
    }

    /** Starts the same member again (same data dir and ports) after {@link #stop}, and waits until it is healthy. */
    public void restart() throws IOException, InterruptedException {
        run();
    }

    /** Stops the member by its PID (SIGTERM, then SIGKILL after a bounded wait): etcd is gone until {@link #restart}. */
    public void stop() {
        Procs.kill(proc.process());
    }

    private void run() throws IOException, InterruptedException {
        // one member named t, its own cluster: the same start as each of EtcdCluster's members
        proc = startMember(dir, "t", clientPort, peerPort, "t=http://127.0.0.1:" + peerPort,
            "planetary-test-" + peerPort);
        try {
            awaitHealthy();
        } catch (IOException | InterruptedException | RuntimeException ex) {
            close();
            throw ex;
        }
    }

    public EtcdEndpoints endpoints() {
        return EtcdEndpoints.parse(url());
    }

    public String url() {
        return "http://127.0.0.1:" + clientPort;
    }

    /** The member's PID while it runs. */
    public long pid() {
        return proc.pid();
    }

    private void awaitHealthy() throws IOException, InterruptedException {
        awaitHealthy(proc, url(), START_TIMEOUT);
    }

    /**
     * A port free now on 127.0.0.1 for an etcd member, above the kernel's ephemeral range (61000-65535 by default)
     * and outside the proxy tests' fixed ranges. Not from the ephemeral range: etcd binds it a moment later, and a
     * member is restarted on the same ports after a kill, and meanwhile any outgoing connection (the test's own
     * clients included) may take an ephemeral port as its source ("bind: address already in use", seen in CI).
     * Ports are handed out in turn, so two calls before the members bind never return the same one.
     */
    public static synchronized int freePort() {
        int low = ephemeralHigh() + 1;
        if (low > 65535 - 256) { // the ephemeral range was widened to the top: only the kernel's pick is left
            return kernelPort();
        }
        int span = 65536 - low;
        if (nextPort < low) {
            nextPort = low + (int) (ProcessHandle.current().pid() % span); // runs in parallel start apart
        }
        for (int tries = 0; tries < span; tries++) {
            int port = nextPort;
            nextPort = port == 65535 ? low : port + 1;
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress("127.0.0.1", port));
                return port;
            } catch (IOException taken) {
                // next one
            }
        }
        throw new IllegalStateException("no free port in " + low + "-65535 on 127.0.0.1");
    }

    private static int nextPort;

    private static int ephemeralHigh() {
        try {
            String[] range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
            return Integer.parseInt(range[1]);
        } catch (IOException | RuntimeException e) {
            return 60999; // Linux's default
        }
    }

    private static int kernelPort() {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** SIGTERM by PID, then SIGKILL after a bounded wait; the data dir goes with the test's temporary directory. */
    @Override
    public void close() {
        Procs.kill(proc.process());
    }

    // ---- one member of any cluster (EtcdCluster runs three) ----

    /** How long {@code EtcdCluster} waits for a member: as long as for a single etcd. */
    public static final Duration MEMBER_START_TIMEOUT = START_TIMEOUT;

    /** {@code etcd} from PATH (Debian's etcd-server), else {@link #BINARY}. */
    public static String binary() {
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path p = Path.of(d.isEmpty() ? "." : d, "etcd");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return BINARY.toString();
    }

    /**
     * Starts one member {@code name} on 127.0.0.1 with its data in {@code dir/data} (kept across restarts: a member
     * started again on it rejoins with its state) and its output in {@code dir}. {@code initialCluster}: every
     * member as {@code name=peerUrl}, as etcd's {@code --initial-cluster}. Does not wait.
     */
    public static Procs.Running startMember(Path dir, String name, int clientPort, int peerPort, String initialCluster,
                                            String clusterToken) throws IOException {
        String c = "http://127.0.0.1:" + clientPort;
        String p = "http://127.0.0.1:" + peerPort;
        Files.createDirectories(dir);
        return Procs.start(dir, null, List.of(binary(), "--name", name,
            "--data-dir", dir.resolve("data").toString(),
            "--listen-client-urls", c, "--advertise-client-urls", c,
            "--listen-peer-urls", p, "--initial-advertise-peer-urls", p, "--initial-cluster", initialCluster,
            "--initial-cluster-state", "new", "--initial-cluster-token", clusterToken, "--log-level", "warn"));
    }

    /**
     * Waits until the member at {@code url} answers {@code /health} true, which etcd 3.4 says only when its cluster
     * has a leader (quorum); fails at once, with the member's output, when its process exited.
     */
    public static void awaitHealthy(Procs.Running proc, String url, Duration timeout)
            throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create(url + "/health")).timeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!proc.process().isAlive()) {
                throw new IOException("etcd exited with " + proc.process().exitValue() + ": " + proc.output());
            }
            try {
                HttpResponse<String> resp = http.send(req, HttpResponse.BodyHandlers.ofString());
                if (resp.statusCode() == 200 && resp.body().contains("\"true\"")) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IOException("etcd " + url + " did not become healthy within " + timeout + ": " + proc.output());
    }
}
