package dev.planetary.registry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.registry.client.testing.TestGenesis;
import dev.planetary.testkit.Procs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's shaded jar as a VM image runs it ({@code java -jar planetary-agent.jar ...}, what {@code bin/planetary
 * agent} execs): it registers from its {@code --address}, heartbeats, and on SIGTERM leaves and exits 0.
 */
class AgentCliIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static Path jar;
    private static String javaBin;

    @TempDir
    Path dir;
    TestGenesis genesis;
    final List<Process> started = new ArrayList<>();

    @BeforeAll
    static void locate() {
        jar = Path.of(System.getProperty("planetary.agent.jar")).toAbsolutePath();
        assertThat(jar).isRegularFile();
        javaBin = ProcessHandle.current().info().command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    @AfterEach
    void tearDown() {
        started.forEach(Procs::killNow);
        if (genesis != null) {
            genesis.close();
        }
    }

    private Path tokenFile(String token) throws Exception {
        Path f = dir.resolve("token");
        Files.writeString(f, token + "\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        return f;
    }

    private Procs.Running agent(String... args) {
        List<String> cmd = new ArrayList<>(List.of(javaBin, "-Xmx64m", "-jar", jar.toString()));
        cmd.addAll(List.of(args));
        Procs.Running r = Procs.start(dir, null, cmd);
        started.add(r.process());
        return r;
    }

    @Test
    void registersFromItsAddressHeartbeatsAndLeavesOnSigterm() throws Exception {
        genesis = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ofSeconds(30)));
        Procs.Running r = agent("--genesis", genesis.uri().toString(), "--token-file",
            tokenFile(TestGenesis.TOKEN).toString(), "--instance", "vm-image-1", "--cores", "8",
            "--address", "127.0.0.33", "--service", "pcpu=7000", "--service", "ssh=22", "--label", "zone=b",
            "--secret-file", dir.resolve("vm.secret").toString());
        await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).until(() ->
            genesis.send("GET", "/api/vms", null).json().get("count").intValue() == 1);
        JsonNode vm = genesis.send("GET", "/api/vms", null).json().get("vms").get(0);
        String id = vm.get("id").asText();
        assertThat(vm.get("ip").asText()).as("--address is what Genesis records").isEqualTo("127.0.0.33");
        assertThat(vm.get("instance").asText()).isEqualTo("vm-image-1");
        assertThat(vm.get("cores").intValue()).isEqualTo(8);
        assertThat(vm.at("/services/ssh").intValue()).isEqualTo(22);
        assertThat(vm.at("/labels/zone").asText()).isEqualTo("b");
        // heartbeats every 100 ms: for 3 s (longer than the 2 s TTL) it stays active and freshly seen
        await().during(Duration.ofSeconds(3)).atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> {
            JsonNode now = genesis.vm(id);
            return now != null && "active".equals(now.get("state").asText())
                && now.get("last_heartbeat_ms_ago").longValue() < 1_500;
        });

        r.process().destroy(); // SIGTERM
        assertThat(r.process().waitFor(20, TimeUnit.SECONDS)).as("exits after SIGTERM\n" + r.output()).isTrue();
        assertThat(r.process().exitValue()).as(r.output()).isZero();
        assertThat(genesis.vm(id).get("state").asText()).as("left on SIGTERM").isEqualTo("draining");
        String log = r.stderr();
        assertThat(log).contains("registered with " + genesis.uri() + " as " + id)
            .contains("left " + genesis.uri() + ": " + id + " is draining")
            .doesNotContain(TestGenesis.TOKEN).doesNotContain("Exception");
        // the VM's secret is in its file (0600) and nowhere in the log
        String secret = java.nio.file.Files.readString(dir.resolve("vm.secret")).trim();
        assertThat(secret).matches("[A-Za-z0-9_-]{43}");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
            java.nio.file.Files.getPosixFilePermissions(dir.resolve("vm.secret")))).isEqualTo("rw-------");
        assertThat(log).doesNotContain(secret);
        assertThat(log.lines().count()).as("one line per state change, not one per heartbeat\n" + log)
            .isLessThan(10);
    }

    @Test
    void badOptionsExit2WithTheOptionNamed() throws Exception {
        Path tok = tokenFile("x".repeat(20));
        Procs.Result res = Procs.run(dir, null, Duration.ofSeconds(30), List.of(javaBin, "-jar", jar.toString(),
            "--genesis", "http://127.0.0.1:1", "--token-file", tok.toString(), "--instance", "a", "--cores", "2",
            "--service", "pcpu=notaport"));
        assertThat(res.code()).as(res.toString()).isEqualTo(2);
        assertThat(res.stderr()).contains("--service pcpu=notaport").doesNotContain("Exception");

        res = Procs.run(dir, null, Duration.ofSeconds(30), List.of(javaBin, "-jar", jar.toString(),
            "--genesis", "http://127.0.0.1:1", "--token-file", tok.toString(), "--cores", "2"));
        assertThat(res.code()).isEqualTo(2);
        assertThat(res.stderr()).contains("--instance");

        res = Procs.run(dir, null, Duration.ofSeconds(30), List.of(javaBin, "-jar", jar.toString(),
            "--genesis", "http://127.0.0.1:1", "--token-file", dir.resolve("missing").toString(), "--instance", "a",
            "--cores", "2"));
        assertThat(res.code()).isEqualTo(1);
        assertThat(res.stderr()).contains("cannot read the token file").contains("no such file");
    }
}
