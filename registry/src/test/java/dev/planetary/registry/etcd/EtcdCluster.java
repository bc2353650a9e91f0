package dev.planetary.registry.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.planetary.registry.testing.EtcdProcess;
import dev.planetary.testkit.Procs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A 3-member etcd cluster on 127.0.0.1 started by a test: members from the {@code etcd} binary on PATH (Debian's
 * etcd-server 3.4), client and peer URLs on free loopback ports, data in a temporary directory of its own that
 * {@link #close} removes. Members are killed and started again only through their own PIDs: kill one (the cluster
 * keeps quorum), kill two (quorum lost), start them again (it comes back with every acknowledged write).
 */
public final class EtcdCluster implements AutoCloseable {

    /** Three members: the smallest cluster that survives one member's loss. */
    public static final int MEMBERS = 3;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final Path dir;
    private final String initialCluster;
    private final String token;
    private final int[] clientPorts = new int[MEMBERS];
    private final int[] peerPorts = new int[MEMBERS];
    private final Procs.Running[] procs = new Procs.Running[MEMBERS];
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

    private EtcdCluster(Path dir) {
        this.dir = dir;
        List<String> peers = new ArrayList<>();
        for (int i = 0; i < MEMBERS; i++) {
            clientPorts[i] = EtcdProcess.freePort();
            peerPorts[i] = EtcdProcess.freePort();
            peers.add(name(i) + "=http://127.0.0.1:" + peerPorts[i]);
        }
        this.initialCluster = String.join(",", peers);
        this.token = "planetary-test-" + dir.getFileName();
    }

    /** Starts all three members and waits until every one is healthy (the cluster has a leader). */
    public static EtcdCluster start() throws IOException, InterruptedException {
        EtcdCluster c = new EtcdCluster(Files.createTempDirectory("planetary-etcd-cluster-"));
        try {
            for (int i = 0; i < MEMBERS; i++) {
                c.launch(i); // all at once: a member alone has no quorum to report healthy with
            }
            for (int i = 0; i < MEMBERS; i++) {
                c.awaitHealthy(i);
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    private static String name(int i) {
        return "m" + i;
    }

    private void launch(int i) throws IOException {
        procs[i] = EtcdProcess.startMember(dir.resolve(name(i)), name(i), clientPorts[i], peerPorts[i],
            initialCluster, token);
    }

    /** Every member's client URL, as Genesis' {@code --etcd} takes them. */
    public EtcdEndpoints endpoints() {
        return EtcdEndpoints.parse(String.join(",", urls()));
    }

    public List<String> urls() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < MEMBERS; i++) {
            out.add(url(i));
        }
        return out;
    }

    public String url(int member) {
        return "http://127.0.0.1:" + clientPorts[member];
    }

    public long pid(int member) {
        return procs[member].pid();
    }

    public boolean running(int member) {
        return procs[member] != null && procs[member].process().isAlive();
    }

    /** SIGKILL to that member's PID (a crash: nothing flushed on the way out), and waits for it to be gone. */
    public void kill(int member) throws InterruptedException {
        Process p = procs[member].process();
        p.destroyForcibly();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("etcd member " + name(member) + " (pid " + p.pid() + ") survived SIGKILL");
        }
    }

    /** Starts a killed member again on its data and ports; it rejoins with its state. Does not wait. */
    public void restart(int member) throws IOException {
        if (running(member)) {
            throw new IllegalStateException("etcd member " + name(member) + " is running");
        }
        launch(member);
    }

    /** Waits until that member is healthy: running, and its cluster has a leader. */
    public void awaitHealthy(int member) throws IOException, InterruptedException {
        EtcdProcess.awaitHealthy(procs[member], url(member), EtcdProcess.MEMBER_START_TIMEOUT);
    }

    /** The member that leads now (asked of the first running member that answers), or -1 when none knows one. */
    public int leader() {
        for (int i = 0; i < MEMBERS; i++) {
            if (!running(i)) {
                continue;
            }
            try {
                JsonNode status = post(i, "/v3/maintenance/status");
                long leaderId = Long.parseUnsignedLong(status.path("leader").asText("0"));
                if (leaderId == 0) {
                    continue;
                }
                for (int j = 0; j < MEMBERS; j++) {
                    if (running(j)) {
                        JsonNode s = post(j, "/v3/maintenance/status");
                        if (Long.parseUnsignedLong(s.path("header").path("member_id").asText("0")) == leaderId) {
                            return j;
                        }
                    }
                }
            } catch (IOException e) {
                // that member does not answer: ask the next
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }
        return -1;
    }

    private JsonNode post(int member, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url(member) + path))
            .timeout(Duration.ofSeconds(2)).POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
            HttpResponse.BodyHandlers.ofString());
        return MAPPER.readTree(r.body());
    }

    /** The output of a member so far (for a failing assertion's message). */
    public String output(int member) {
        return procs[member] == null ? "" : procs[member].output();
    }

    /** Stops every member by its PID (SIGTERM, then SIGKILL after a bounded wait) and removes the directory. */
    @Override
    public void close() {
        for (Procs.Running p : procs) {
            if (p != null) {
                Procs.kill(p.process());
            }
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + dir, e);
        }
    }
}
