package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.ports.PortPlan;
import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.View;
import dev.planetary.registry.state.Vm;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.Test;

/** The hub's promises under the edges: parked resumes that throw, snapshots of a view that changed at one version. */
class HubTest {

    private static Change added(long version, String id, int offset) {
        Vm vm = new Vm(id, "host-" + id, "127.0.0.1", 2, 1024, 0, Map.of("ssh", 22), Map.of(),
            PortPlan.DEFAULT.ports(offset), Vm.Status.ACTIVE, 0, "hash-of-" + id);
        return new Change(version, Change.Type.ADDED, vm, "registered");
    }

    private static View at(long version, boolean selfPreservation) {
        return new View(version, Map.of(), Map.of(), List.of(), selfPreservation, 0, 0, 0, 0, PortPlan.DEFAULT);
    }

    /**
     * Review finding 4: a parked resume whose hand-off throws (its event loop shut down while the writer still
     * publishes) costs neither the subscribers nor the retained history that round, and never reaches the writer.
     */
    @Test
    void aParkedResumeThatThrowsCostsNoSubscriberAndNoHistory() {
        Hub hub = new Hub();
        hub.init(View.empty(), List.of());
        List<Long> got = new ArrayList<>();
        hub.subscribe(0L, e -> got.add(e.version()));
        assertThat(hub.whenReached(1, () -> {
            throw new RejectedExecutionException("event loop terminated");
        })).isFalse();
        boolean[] ran = new boolean[1];
        hub.whenReached(1, () -> ran[0] = true);
        hub.publish(List.of(added(1, "vm_a", 1)), at(1, false));
        assertThat(got).containsExactly(1L);
        assertThat(ran[0]).as("the next parked resume still runs").isTrue();
        assertThat(hub.parked()).isZero();
        List<Long> resumed = new ArrayList<>();
        hub.subscribe(0L, e -> resumed.add(e.version()));
        assertThat(resumed).as("the change is retained").containsExactly(1L);
    }

    /** After close nothing parks (its loop is going) and what was parked is dropped, never run. */
    @Test
    void closeDropsParkedResumes() {
        Hub hub = new Hub();
        hub.init(View.empty(), List.of());
        boolean[] ran = new boolean[1];
        hub.whenReached(1, () -> ran[0] = true);
        hub.close();
        hub.whenReached(1, () -> ran[0] = true);
        assertThat(hub.parked()).isZero();
        hub.publish(List.of(added(1, "vm_a", 1)), at(1, false));
        assertThat(ran[0]).isFalse();
    }

    /**
     * Review finding 5: a follower shows the leader's self-preservation without a new version (nothing expires, so
     * nothing changes): a snapshot served after that says so, not the one cached before at the same version.
     */
    @Test
    void aSnapshotShowsSelfPreservationDecidedAtTheSameVersion() {
        Hub hub = new Hub();
        hub.init(at(0, false), List.of());
        List<String> first = new ArrayList<>();
        hub.subscribe(null, e -> first.add(new String(e.sse(), StandardCharsets.UTF_8)));
        assertThat(first).singleElement().asString().contains("\"self_preservation\":false");
        hub.publish(List.of(), at(0, true));
        List<String> second = new ArrayList<>();
        hub.subscribe(null, e -> second.add(new String(e.sse(), StandardCharsets.UTF_8)));
        assertThat(second).singleElement().asString().contains("\"self_preservation\":true");
    }
}
