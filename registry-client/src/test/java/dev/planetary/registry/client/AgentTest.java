package dev.planetary.registry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.registry.client.testing.TestGenesis;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent against a real Genesis (heartbeat 100 ms, TTL 2 s): register, heartbeat, 404, restart, leave. */
class AgentTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    TestGenesis genesis;
    final List<Agent> agents = new ArrayList<>();

    @AfterEach
    void tearDown() {
        agents.forEach(Agent::close);
        if (genesis != null) {
            genesis.close();
        }
    }

    private AgentOptions.Builder options(String address) throws Exception {
        AgentOptions.Builder b = AgentOptions.builder().genesis(genesis.uri()).token(TestGenesis.TOKEN).cores(4)
            .service("pcpu", 7000).service("ssh", 22).initialBackoff(Duration.ofMillis(20))
            .maxBackoff(Duration.ofMillis(200)).random(new Random(3)).requestTimeout(Duration.ofSeconds(5));
        if (address != null) {
            b.address(InetAddress.getByName(address));
        }
        return b;
    }

    private Agent start(AgentOptions.Builder b) {
        Agent a = Agent.start(b.build());
        agents.add(a);
        return a;
    }

    @Test
    void registersFromItsAddressHeartbeatsAndLeavesOnClose() throws Exception {
        genesis = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ofSeconds(30)));
        Agent a = start(options("127.0.0.7").instance("host-7").label("zone", "a").memoryMb(1024));
        await().atMost(WAIT).until(a::registered);
        JsonNode vm = genesis.vm(a.vmId());
        assertThat(vm.get("ip").asText()).as("the address Genesis records is the agent's").isEqualTo("127.0.0.7");
        assertThat(a.ip()).isEqualTo("127.0.0.7");
        assertThat(vm.get("instance").asText()).isEqualTo("host-7");
        assertThat(vm.get("cores").intValue()).isEqualTo(4);
        assertThat(vm.at("/services/pcpu").intValue()).isEqualTo(7000);
        assertThat(vm.at("/labels/zone").asText()).isEqualTo("a");
        assertThat(a.ports()).isEqualTo(Map.of("pcpu", vm.at("/ports/pcpu").intValue(),
            "pfsshfs", vm.at("/ports/pfsshfs").intValue(), "transfer", vm.at("/ports/transfer").intValue()));

        // heartbeats at Genesis' 100 ms: 5 of them well within the 2 s TTL, and the VM stays
        await().atMost(WAIT).until(() -> a.heartbeats() >= 5);
        assertThat(genesis.vm(a.vmId()).get("state").asText()).isEqualTo("active");
        assertThat(genesis.vm(a.vmId()).get("last_heartbeat_ms_ago").longValue()).isLessThan(1_500);

        a.close();
        assertThat(a.state()).isEqualTo(Agent.State.CLOSED);
        assertThat(genesis.vm(a.vmId()).get("state").asText()).as("left: draining").isEqualTo("draining");
    }

    @Test
    void twoAgentsOnTwoAddressesAreTwoVmsWithTheirOwnIps() throws Exception {
        genesis = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ofSeconds(30)));
        Agent a = start(options("127.0.0.21").instance("a"));
        Agent b = start(options("127.0.0.22").instance("b"));
        await().atMost(WAIT).until(() -> a.registered() && b.registered());
        assertThat(a.vmId()).isNotEqualTo(b.vmId());
        assertThat(genesis.vm(a.vmId()).get("ip").asText()).isEqualTo("127.0.0.21");
        assertThat(genesis.vm(b.vmId()).get("ip").asText()).isEqualTo("127.0.0.22");
    }

    @Test
    void registersAgainAfter404AndKeepsItsIdAndPorts() throws Exception {
        // drain 0: a DELETE removes the VM at once, so the agent's next heartbeat gets 404
        genesis = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ZERO));
        Agent a = start(options("127.0.0.8").instance("host-8"));
        await().atMost(WAIT).until(a::registered);
        String id = a.vmId();
        Map<String, Integer> ports = a.ports();
        genesis.leave(id); // the agent's secret is its own: removed on Genesis' side
        await().atMost(WAIT).until(() -> a.registrations() == 2);
        await().atMost(WAIT).until(a::registered);
        assertThat(a.vmId()).as("same instance within the grace period: same id").isEqualTo(id);
        assertThat(a.ports()).isEqualTo(ports);
        assertThat(genesis.vm(id).get("state").asText()).isEqualTo("active");
        long hb = a.heartbeats();
        await().atMost(WAIT).until(() -> a.heartbeats() > hb + 2);
    }

    @Test
    void survivesAGenesisRestartWithoutRegisteringAgain() throws Exception {
        genesis = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ofSeconds(30)));
        Agent a = start(options("127.0.0.9").instance("host-9"));
        await().atMost(WAIT).until(() -> a.heartbeats() >= 2);
        String id = a.vmId();
        genesis.stop();
        await().atMost(WAIT).until(() -> a.failedRequests() >= 3); // heartbeats fail while Genesis is away
        assertThat(a.registered()).as("still registered as far as it knows").isTrue();
        genesis.restart();
        long hb = a.heartbeats();
        await().atMost(WAIT).until(() -> a.heartbeats() > hb + 3);
        assertThat(a.registrations()).as("Genesis restored the VM: heartbeats just go on").isEqualTo(1);
        assertThat(a.vmId()).isEqualTo(id);
        assertThat(genesis.vm(id).get("state").asText()).isEqualTo("active");
    }

    @Test
    void waitsForGenesisThatIsNotThereYet() throws Exception {
        genesis = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ofSeconds(30)));
        genesis.stop();
        Agent a = start(options(null).instance("late"));
        await().atMost(WAIT).until(() -> a.failedRequests() >= 3); // a few attempts with the 20-200 ms backoff
        assertThat(a.registered()).isFalse();
        assertThat(a.state()).isEqualTo(Agent.State.REGISTERING);
        genesis.restart();
        await().atMost(WAIT).until(a::registered);
        assertThat(genesis.vm(a.vmId()).get("ip").asText()).isEqualTo("127.0.0.1");
    }

    @Test
    void aWrongTokenKeepsRetryingAndNeverRegisters() throws Exception {
        genesis = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ofSeconds(30)));
        Agent a = start(options(null).token("wrong-token-0123456789abc"));
        await().atMost(WAIT).until(() -> a.failedRequests() >= 3);
        assertThat(a.registered()).isFalse();
        assertThat(genesis.send("GET", "/api/vms", null).json().get("count").intValue()).isZero();
    }

    @Test
    void itsSecretFileKeepsItsIdentityAcrossARestartFromAnotherAddressAndNothingElseDoes() throws Exception {
        genesis = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ofSeconds(30)));
        Path secretFile = dir.resolve("vm.secret");
        Agent first = start(options("127.0.0.41").instance("host-41").secretFile(secretFile));
        await().atMost(WAIT).until(() -> first.heartbeats() >= 3);
        assertThat(first.registrations()).as("heartbeats with its secret are taken").isEqualTo(1);
        String id = first.vmId();
        String secret = java.nio.file.Files.readString(secretFile).trim();
        assertThat(secret).matches("[A-Za-z0-9_-]{43}");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(
            java.nio.file.Files.getPosixFilePermissions(secretFile))).isEqualTo("rw-------");
        first.close(); // leaves: draining for 30 s

        // the same VM's agent restarted, now from another address: its secret proves it
        Agent second = start(options("127.0.0.42").instance("host-41").secretFile(secretFile));
        await().atMost(WAIT).until(() -> second.heartbeats() >= 3);
        assertThat(second.vmId()).isEqualTo(id);
        assertThat(second.registrations()).isEqualTo(1);
        assertThat(genesis.vm(id).get("ip").asText()).isEqualTo("127.0.0.42");
        assertThat(java.nio.file.Files.readString(secretFile).trim()).as("no new secret").isEqualTo(secret);

        // anyone else with the join token and the instance key, from another address: refused, nothing changes
        long v = genesis.version();
        Agent thief = start(options("127.0.0.43").instance("host-41"));
        await().atMost(WAIT).until(() -> thief.failedRequests() >= 3);
        assertThat(thief.registered()).isFalse();
        assertThat(genesis.version()).isEqualTo(v);
        assertThat(genesis.vm(id).get("ip").asText()).isEqualTo("127.0.0.42");
    }

    @Test
    void badOptionsAreRefusedWithTheirName() {
        assertThatThrownBy(() -> AgentOptions.builder().genesis(java.net.URI.create("ftp://x")).token("t").cores(1)
            .build()).hasMessageContaining("http://HOST");
        assertThatThrownBy(() -> AgentOptions.builder().genesis(java.net.URI.create("http://x")).token("t").cores(0)
            .build()).hasMessageContaining("cores");
        assertThatThrownBy(() -> AgentOptions.builder().genesis(java.net.URI.create("http://x")).token("t").cores(1)
            .service("Bad Name", 1).build()).hasMessageContaining("service name");
        assertThatThrownBy(() -> AgentOptions.builder().genesis(java.net.URI.create("http://x")).token("t").cores(1)
            .service("pcpu", 70000).build()).hasMessageContaining("1..65535");
        assertThatThrownBy(() -> AgentOptions.builder().genesis(java.net.URI.create("http://x")).token(" ").cores(1)
            .build()).hasMessageContaining("token");
    }
}
