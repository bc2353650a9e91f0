package dev.planetary.registry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.planetary.registry.client.testing.GenesisJar;
import dev.planetary.registry.client.testing.Recorder;
import dev.planetary.registry.client.testing.TestGenesis;
import dev.planetary.testkit.Procs;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two Genesis jars (independent local stores) and two agent jars whose fail-over lists name them in opposite orders,
 * under a watch of both: one Genesis is killed by its PID mid-stream, and within a bounded time the watch follows the
 * other (a relist: that Genesis has its own history), its view never empty, and the agent that lost its Genesis keeps
 * its VM alive on the other.
 */
class GenesisFailoverIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    /** From the SIGKILL to the watch following the other Genesis with both VMs: the agent's heartbeat (200 ms), its
     *  404 there and a registration, plus a loaded machine's margin. */
    private static final Duration FAIL_OVER_BOUND = Duration.ofSeconds(10);
    private static final String TOKEN = "failover-it-token-0123456789";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static Path agentJar;
    private static String javaBin;

    @TempDir
    Path dir;
    final List<Process> started = new ArrayList<>();
    final List<AutoCloseable> closing = new ArrayList<>();
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void locate() {
        agentJar = Path.of(System.getProperty("planetary.agent.jar")).toAbsolutePath();
        assertThat(agentJar).isRegularFile();
        javaBin = GenesisJar.java();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        started.forEach(Procs::killNow);
    }

    private Procs.Running genesis(String name, int port) {
        Procs.Running r = GenesisJar.start(dir, name, port, dir.resolve(name), TOKEN);
        started.add(r.process());
        return r;
    }

    private Procs.Running agent(String address, String instance, URI... urls) throws Exception {
        Path tok = dir.resolve("token");
        if (!Files.exists(tok)) {
            Files.writeString(tok, TOKEN + "\n");
            Files.setPosixFilePermissions(tok, PosixFilePermissions.fromString("rw-------"));
        }
        List<String> cmd = new ArrayList<>(List.of(javaBin, "-Xmx64m", "-jar", agentJar.toString()));
        for (URI u : urls) {
            cmd.addAll(List.of("--genesis", u.toString())); // repeated: a fail-over list in this order
        }
        cmd.addAll(List.of("--token-file", tok.toString(), "--instance", instance, "--cores", "2", "--address",
            address, "--service", "pcpu=7000"));
        Procs.Running r = Procs.start(dir, null, cmd);
        started.add(r.process());
        return r;
    }

    private JsonNode get(int port, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .header("Authorization", "Bearer " + TOKEN).timeout(Duration.ofSeconds(5)).build(),
            HttpResponse.BodyHandlers.ofString());
        return MAPPER.readTree(r.body());
    }

    /** The VM registered from {@code ip} on the Genesis at {@code port}, or null. */
    private JsonNode vmFrom(int port, String ip) throws Exception {
        for (JsonNode vm : get(port, "/api/vms").get("vms")) {
            if (ip.equals(vm.get("ip").asText())) {
                return vm;
            }
        }
        return null;
    }

    private static boolean hasIps(SwarmView v, String... ips) {
        return v.vms().values().stream().map(VmInfo::ip).sorted().toList().equals(List.of(ips));
    }

    @Test
    void aGenesisKilledByPidMidStreamIsLeftForTheOtherAndItsVmStaysAlive() throws Exception {
        int p1 = TestGenesis.freePort();
        int p2 = TestGenesis.freePort();
        URI u1 = URI.create("http://127.0.0.1:" + p1);
        URI u2 = URI.create("http://127.0.0.1:" + p2);
        Procs.Running g1 = genesis("g1", p1);
        genesis("g2", p2);
        Procs.Running agent51 = agent("127.0.0.51", "vm51", u1, u2);
        Procs.Running agent52 = agent("127.0.0.52", "vm52", u2, u1);
        await().atMost(WAIT).ignoreExceptions().until(() -> vmFrom(p1, "127.0.0.51") != null
            && vmFrom(p2, "127.0.0.52") != null);
        assertThat(vmFrom(p2, "127.0.0.51")).as("each agent stays on its first Genesis while it answers").isNull();
        // three VMs whose agents know g1 only: g1's history runs ahead of g2's, so g2 (at version 1, 2 or 3 by then)
        // can never take the watch's since=4 for its own and resumes nothing: it answers its snapshot, a relist.
        // Two independent Genesis at the same version cannot be told apart (see the report on a history id).
        for (int i = 3; i <= 5; i++) {
            Agent only1 = Agent.start(AgentOptions.builder().genesis(u1).token(TOKEN).cores(1).instance("vm5" + i)
                .service("pcpu", 7000).address(java.net.InetAddress.getByName("127.0.0.5" + i)).build());
            closing.add(only1::halt);
            await().atMost(WAIT).until(only1::registered);
        }

        Recorder rec = new Recorder();
        SwarmWatch watch = SwarmWatch.start(List.of(u1, u2), rec, WatchOptions.builder()
            .initialBackoff(Duration.ofMillis(50)).maxBackoff(Duration.ofMillis(500)).random(new Random(7)).build());
        closing.add(watch);
        await().atMost(WAIT).until(() -> hasIps(rec.last(), "127.0.0.51", "127.0.0.53", "127.0.0.54", "127.0.0.55"));
        assertThat(watch.version()).isEqualTo(4);
        assertThat(watch.currentUrl()).isEqualTo(u1);

        long killedAt = System.nanoTime();
        g1.process().destroyForcibly(); // SIGKILL by its PID, mid-stream
        g1.process().waitFor(10, TimeUnit.SECONDS);
        await().atMost(FAIL_OVER_BOUND).pollInterval(Duration.ofMillis(20))
            .until(() -> u2.equals(watch.currentUrl()) && !watch.stale()
                && hasIps(rec.last(), "127.0.0.51", "127.0.0.52"));
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
        System.out.println("fail-over: watch on " + u2 + " with both VMs " + tookMillis + " ms after the SIGKILL");
        assertThat(watch.relists()).as("an independent Genesis: its own history, one relist").isEqualTo(1);
        assertThat(SwarmWatchFailoverTest.listed(rec)).as("the view never emptied").allMatch(v -> !v.vms().isEmpty());

        // the agent that lost its Genesis keeps its VM alive on the other: registered there, heartbeating
        await().during(Duration.ofSeconds(2)).atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> {
            JsonNode vm = vmFrom(p2, "127.0.0.51");
            return vm != null && "active".equals(vm.get("state").asText())
                && vm.get("last_heartbeat_ms_ago").longValue() < 1_500;
        });
        assertThat(agent51.stderr()).contains("heartbeat to " + u1 + " failed").contains("with " + u2)
            .contains("registered with " + u2);

        agent51.process().destroy(); // SIGTERM: it leaves through the Genesis it is on
        agent52.process().destroy();
        assertThat(agent51.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(agent52.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(agent51.process().exitValue()).as(agent51.output()).isZero();
        assertThat(vmFrom(p2, "127.0.0.51").get("state").asText()).isEqualTo("draining");
        assertThat(vmFrom(p2, "127.0.0.52").get("state").asText()).isEqualTo("draining");
        assertThat(agent51.stderr() + agent52.stderr()).doesNotContain("Exception").doesNotContain(TOKEN);
        assertThat(rec.errors).noneMatch(e -> e.contains("concurrently"));
    }
}
