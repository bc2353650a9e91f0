package dev.planetary.registry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.registry.client.testing.FakeGenesis;
import dev.planetary.registry.client.testing.TestGenesis;
import dev.planetary.registry.state.Settings;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent over a fail-over list of real Genesis instances (heartbeat 100 ms, TTL 10 s): register, heartbeat and
 * leave move on to the next URL when theirs is down or answers 5xx; on an instance holding the same data the VM keeps
 * its id and ports, and a registration retried there gets them by its instance key.
 */
class AgentFailoverTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    final List<AutoCloseable> closing = new ArrayList<>();
    final List<Agent> agents = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        agents.forEach(Agent::close);
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    /** Two instances' addresses; only one runs at a time on the shared data, as instances taking over one store. */
    final int p1 = TestGenesis.freePort();
    final int p2 = TestGenesis.freePort();
    final URI u1 = URI.create("http://127.0.0.1:" + p1);
    final URI u2 = URI.create("http://127.0.0.1:" + p2);
    Path shared;

    @org.junit.jupiter.api.BeforeEach
    void sharedData() {
        shared = dir.resolve("shared");
    }

    /**
     * Heartbeat every 100 ms, TTL 10 s: longer than the agent's request timeout (5 s), as in any sane set-up (15 s and
     * 5 s by default). With the tests' usual 2-s TTL, one heartbeat left unanswered for 5 s by the stopping instance
     * let the VM expire on the one taking over (ci72), and it registered again (same id and ports, but the test
     * asserts that heartbeats just go on).
     */
    private static final Settings SETTINGS = new Settings(Duration.ofMillis(100), Duration.ofSeconds(10),
        Duration.ofSeconds(30), Duration.ofSeconds(60));

    private TestGenesis genesis(Path data, int port) {
        TestGenesis g = TestGenesis.startOn(data, SETTINGS, port);
        closing.add(g);
        return g;
    }

    private Agent agent(List<URI> urls, String instance) throws Exception {
        Agent a = Agent.start(AgentOptions.builder().genesis(urls).token(TestGenesis.TOKEN).cores(2)
            .instance(instance).service("pcpu", 7000).address(InetAddress.getByName("127.0.0.9"))
            .initialBackoff(Duration.ofMillis(20)).maxBackoff(Duration.ofMillis(200)).random(new Random(5))
            .requestTimeout(Duration.ofSeconds(5)).build());
        agents.add(a);
        return a;
    }

    @Test
    void heartbeatsMoveToTheInstanceThatTookOverAndTheVmStaysAliveWithItsIdAndPorts() throws Exception {
        TestGenesis first = genesis(shared, p1);
        Agent a = agent(List.of(u1, u2), "host-9");
        await().atMost(WAIT).until(a::registered);
        String id = a.vmId();
        var ports = a.ports();
        assertThat(a.currentUrl()).isEqualTo(u1);

        first.stop();
        TestGenesis second = genesis(shared, p2);
        long before = a.heartbeats();
        await().atMost(WAIT).until(() -> a.heartbeats() >= before + 5 && u2.equals(a.currentUrl()));
        assertThat(a.registrations()).as("the other instance knows the VM: heartbeats just go on").isEqualTo(1);
        assertThat(a.vmId()).isEqualTo(id);
        assertThat(a.ports()).isEqualTo(ports);
        JsonNode vm = second.vm(id);
        assertThat(vm.get("state").asText()).isEqualTo("active");
        assertThat(vm.get("last_heartbeat_ms_ago").longValue()).isLessThan(1_500);

        // leave: the first URL is down, so it goes to the second within the leave's deadline
        a.close();
        assertThat(second.vm(id).get("state").asText()).isEqualTo("draining");
    }

    @Test
    void aRegistrationRetriedOnAnotherInstanceGetsTheSameIdAndPortsByItsInstanceKey() throws Exception {
        TestGenesis first = genesis(shared, p1);
        Agent a = agent(List.of(u1), "host-9");
        await().atMost(WAIT).until(a::registered);
        String id = a.vmId();
        var ports = a.ports();
        a.halt(); // the VM's agent dies without leaving, and its secret with it

        first.stop();
        TestGenesis second = genesis(shared, p2);
        Agent again = agent(List.of(u1, u2), "host-9"); // the first URL is down: registration goes to the second
        await().atMost(WAIT).until(again::registered);
        assertThat(again.currentUrl()).isEqualTo(u2);
        assertThat(again.vmId()).as("same instance key, same address: same VM").isEqualTo(id);
        assertThat(again.ports()).isEqualTo(ports);
        assertThat(second.vm(id).get("state").asText()).isEqualTo("active");
    }

    @Test
    void registrationAndHeartbeatsLeaveAGenesisAnswering5xx() throws Exception {
        FakeGenesis refusing = new FakeGenesis(); // answers every non-watch request with its scripts: 503 here
        closing.add(refusing);
        refusing.endless = new FakeGenesis.Script(503, List.of("{\"error\": \"etcd: no quorum\"}"), false);
        TestGenesis g = genesis(dir.resolve("g"), TestGenesis.freePort());
        Agent a = agent(List.of(refusing.uri(), g.uri()), "host-9");
        await().atMost(WAIT).until(a::registered);
        assertThat(a.currentUrl()).isEqualTo(g.uri());
        assertThat(refusing.requests).as("one 503, then the next URL").hasSize(1);
        await().atMost(WAIT).until(() -> a.heartbeats() >= 3);
        assertThat(g.vm(a.vmId()).get("state").asText()).isEqualTo("active");
    }
}
