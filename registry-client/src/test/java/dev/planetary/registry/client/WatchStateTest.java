package dev.planetary.registry.client;

import static dev.planetary.registry.client.testing.FakeGenesis.vm;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Applying events to the view, without any I/O: whole events or nothing, versions strictly one apart. */
class WatchStateTest {

    private static SseDecoder.Event snapshot(long v, String... vms) {
        return new SseDecoder.Event(Long.toString(v), "snapshot", "{\"version\":" + v + ",\"self_preservation\":true,"
            + "\"vms\":[" + String.join(",", vms) + "]}");
    }

    private static SseDecoder.Event change(long v, String type, String vm) {
        return new SseDecoder.Event(Long.toString(v), type, "{\"version\":" + v + ",\"type\":\"" + type + "\","
            + "\"reason\":\"r\",\"vm\":" + vm + "}");
    }

    @Test
    void snapshotThenChangesPublishOneViewPerBatch() throws Exception {
        WatchState s = new WatchState();
        assertThat(s.publish()).as("nothing yet").isNull();
        s.apply(snapshot(10, vm("vm_000001", "10.0.0.1", "active")));
        s.apply(change(11, "added", vm("vm_000002", "10.0.0.2", "active")));
        SwarmView v = s.publish();
        assertThat(v.version()).isEqualTo(11);
        assertThat(v.selfPreservation()).isTrue();
        assertThat(v.vms()).containsOnlyKeys("vm_000001", "vm_000002");
        assertThat(s.publish()).as("no change since").isNull();
        s.apply(change(12, "draining", vm("vm_000001", "10.0.0.1", "active")));
        assertThat(s.publish().vms().get("vm_000001").state()).as("a draining event drains, whatever the VM says")
            .isEqualTo(VmInfo.State.DRAINING);
        s.apply(change(13, "removed", "{\"id\":\"vm_000001\"}"));
        assertThat(s.publish().vms()).containsOnlyKeys("vm_000002");
        assertThat(v.vms()).as("published views never change").containsOnlyKeys("vm_000001", "vm_000002");
    }

    @Test
    void aRefusedEventChangesNothing() throws Exception {
        WatchState s = new WatchState();
        s.apply(snapshot(10, vm("vm_000001", "10.0.0.1", "active")));
        SwarmView before = s.publish();
        assertThatThrownBy(() -> s.apply(change(12, "added", vm("vm_000002", "10.0.0.2", "active"))))
            .isInstanceOfSatisfying(WatchState.Relist.class, r -> assertThat(r.malformed).isFalse())
            .hasMessageContaining("gap");
        assertThatThrownBy(() -> s.apply(change(10, "removed", vm("vm_000001", "10.0.0.1", "active"))))
            .isInstanceOf(WatchState.Relist.class).hasMessageContaining("backwards");
        assertThatThrownBy(() -> s.apply(change(11, "added", "{\"id\":\"vm_000003\",\"ip\":\"10.0.0.3\","
            + "\"state\":\"active\",\"services\":{\"pcpu\":70000},\"ports\":{}}")))
            .isInstanceOfSatisfying(WatchState.Relist.class, r -> assertThat(r.malformed).isTrue())
            .hasMessageContaining("services.pcpu");
        assertThatThrownBy(() -> s.apply(snapshot(20, vm("vm_000001", "10.0.0.1", "active"),
            vm("vm_000001", "10.0.0.9", "active")))).hasMessageContaining("twice");
        assertThatThrownBy(() -> s.apply(new SseDecoder.Event("11", "added", "{\"version\":11,\"vm\":{\"id\":"
            + "\"x\",\"ip\":\"10.0.0.1\",\"services\":{},\"ports\":{},\"state\":\"active\"},\"version\":11}")))
            .as("duplicate keys").isInstanceOf(WatchState.Relist.class);
        assertThat(s.publish()).as("nothing was applied").isNull();
        assertThat(s.version()).isEqualTo(10);
        assertThat(s.published()).isSameAs(before);
    }

    @Test
    void portPlanParsingIsLenientAboutExtrasAndStrictAboutRanges() {
        PortPlanInfo p = WatchState.parsePlan(("{\"kinds\":{\"pcpu\":{\"low\":10000,\"high\":19999,\"entrance\":10000}},"
            + "\"max_vms\":1999,\"grace_ms\":60000,\"new_field\":[1]}").getBytes(StandardCharsets.UTF_8));
        assertThat(p.range("pcpu").contains(19999)).isTrue();
        assertThat(p.range("pcpu").contains(20000)).isFalse();
        assertThat(p.maxVms()).isEqualTo(1999);
        assertThatThrownBy(() -> WatchState.parsePlan("{\"kinds\":{\"pcpu\":{\"low\":20000,\"high\":10000}}}"
            .getBytes(StandardCharsets.UTF_8))).hasMessageContaining("20000-10000");
        assertThatThrownBy(() -> WatchState.parsePlan("[]".getBytes(StandardCharsets.UTF_8)))
            .hasMessageContaining("kinds");
    }
}
