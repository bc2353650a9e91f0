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
    void aReleasedReservationMovesTheVersionWithoutARelist() throws Exception {
        // Genesis logs the end of a removed VM's grace period as its own change; a watcher must follow it like any
        // other change (a relist per grace expiry would resend the whole swarm to every proxy).
        WatchState s = new WatchState();
        s.apply(snapshot(10, vm("vm_000001", "10.0.0.1", "active")));
        s.apply(change(11, "removed", "{\"id\":\"vm_000002\"}"));
        s.apply(new SseDecoder.Event("12", "released", "{\"version\":12,\"type\":\"released\","
            + "\"reason\":\"grace_expired\",\"reservation\":{\"id\":\"vm_000002\",\"offset\":7,"
            + "\"ports\":{\"pcpu\":10007,\"pfsshfs\":20007,\"transfer\":30007}}}"));
        SwarmView v = s.publish();
        assertThat(v.version()).isEqualTo(12);
        assertThat(v.vms()).containsOnlyKeys("vm_000001");
        assertThatThrownBy(() -> s.apply(new SseDecoder.Event("14", "released", "{\"version\":14,"
            + "\"type\":\"released\",\"reservation\":{\"id\":\"vm_000003\"}}")))
            .as("a gap is a gap, whatever the type").hasMessageContaining("version gap");
    }

    private static SseDecoder.Event snapshotWithGrace(long v, String grace, String... vms) {
        return new SseDecoder.Event(Long.toString(v), "snapshot", "{\"version\":" + v + ",\"self_preservation\":false,"
            + "\"vms\":[" + String.join(",", vms) + "],\"grace\":[" + grace + "]}");
    }

    private static String reservation(String id, String instance, int offset) {
        return "{\"id\":\"" + id + "\"" + (instance == null ? "" : ",\"instance\":\"" + instance + "\"")
            + ",\"offset\":" + offset + ",\"ports\":{\"pcpu\":" + (10000 + offset) + ",\"pfsshfs\":"
            + (20000 + offset) + ",\"transfer\":" + (30000 + offset) + "}}";
    }

    private static SseDecoder.Event released(long v, String reservation) {
        return new SseDecoder.Event(Long.toString(v), "released", "{\"version\":" + v + ",\"type\":\"released\","
            + "\"reason\":\"grace_expired\",\"reservation\":" + reservation + "}");
    }

    @Test
    void reservationsInGraceComeFromTheSnapshotAndRemovalsAndGoOnReleaseOrReRegistration() throws Exception {
        // A watcher that starts after a VM was removed must still know that its ports are reserved: Genesis lists
        // them in the snapshot's `grace`, and a `removed` VM's ports enter grace until their `released` event.
        WatchState s = new WatchState();
        s.apply(snapshotWithGrace(10, reservation("vm_000009", "host-9", 9), vm("vm_000001", "10.0.0.1", "active")));
        SwarmView v10 = s.publish();
        assertThat(v10.graceServed()).isTrue();
        assertThat(v10.reservations()).containsOnlyKeys("vm_000009");
        Reservation r9 = v10.reservations().get("vm_000009");
        assertThat(r9).isEqualTo(new Reservation("vm_000009", "host-9", 9,
            java.util.Map.of("pcpu", 10009, "pfsshfs", 20009, "transfer", 30009)));
        assertThat(r9.port("pfsshfs")).isEqualTo(20009);
        assertThat(r9.port("nope")).isEqualTo(-1);
        assertThatThrownBy(() -> v10.reservations().clear()).isInstanceOf(UnsupportedOperationException.class);

        // vm_000001 (FakeGenesis.vm: offset 1, ports 10001/20001/30001) is removed: its ports go into grace
        s.apply(change(11, "removed", vm("vm_000001", "10.0.0.1", "draining")));
        SwarmView v11 = s.publish();
        assertThat(v11.vms()).isEmpty();
        assertThat(v11.reservations()).containsOnlyKeys("vm_000001", "vm_000009");
        assertThat(v11.reservations().get("vm_000001").ports()).containsEntry("pcpu", 10001);
        assertThat(v11.reservations().get("vm_000001").offset()).isEqualTo(1);
        assertThat(v10.reservations()).as("published views never change").containsOnlyKeys("vm_000009");

        s.apply(released(12, reservation("vm_000009", "host-9", 9)));
        assertThat(s.publish().reservations()).as("released: free").containsOnlyKeys("vm_000001");

        // vm_000001 registers again within its grace period: Genesis gives it its id and ports back
        s.apply(change(13, "added", vm("vm_000001", "10.0.0.1", "active")));
        SwarmView v13 = s.publish();
        assertThat(v13.reservations()).as("held by the VM again").isEmpty();
        assertThat(v13.vms()).containsOnlyKeys("vm_000001");

        // a new snapshot (relist) replaces the reservations whole
        s.apply(snapshotWithGrace(20, reservation("vm_000002", null, 2)));
        assertThat(s.publish().reservations()).containsOnlyKeys("vm_000002");
        assertThat(s.published().reservations().get("vm_000002").instance()).isNull();
    }

    @Test
    void aRemovedEventWithOnlyAnIdTakesThePortsTheViewKnew() throws Exception {
        WatchState s = new WatchState();
        s.apply(snapshotWithGrace(10, "", vm("vm_000001", "10.0.0.1", "active")));
        s.apply(change(11, "removed", "{\"id\":\"vm_000001\"}"));
        Reservation r = s.publish().reservations().get("vm_000001");
        assertThat(r.ports()).containsEntry("pcpu", 10001);
        assertThat(r.offset()).as("not said by the event, not known from the view").isEqualTo(-1);
    }

    @Test
    void withoutAGraceListNoReservationsAreKept() throws Exception {
        // a Genesis that does not publish reservations: the view says so, and a follower times grace itself
        WatchState s = new WatchState();
        s.apply(snapshot(10, vm("vm_000001", "10.0.0.1", "active")));
        s.apply(change(11, "removed", vm("vm_000001", "10.0.0.1", "active")));
        SwarmView v = s.publish();
        assertThat(v.graceServed()).isFalse();
        assertThat(v.reservations()).isEmpty();
        assertThat(SwarmView.EMPTY.graceServed()).isFalse();
    }

    @Test
    void aMalformedReservationIsRefusedWhole() throws Exception {
        WatchState s = new WatchState();
        s.apply(snapshotWithGrace(10, reservation("vm_000009", null, 9), vm("vm_000001", "10.0.0.1", "active")));
        SwarmView before = s.publish();
        assertThatThrownBy(() -> s.apply(snapshotWithGrace(20, "{\"id\":\"vm_000003\",\"offset\":3,"
            + "\"ports\":{\"pcpu\":70000}}"))).isInstanceOfSatisfying(WatchState.Relist.class,
                r -> assertThat(r.malformed).isTrue()).hasMessageContaining("ports.pcpu");
        assertThatThrownBy(() -> s.apply(snapshotWithGrace(20, reservation("vm_000003", null, 3) + ","
            + reservation("vm_000003", null, 4)))).hasMessageContaining("twice");
        assertThatThrownBy(() -> s.apply(new SseDecoder.Event("20", "snapshot", "{\"version\":20,\"vms\":[],"
            + "\"grace\":{}}"))).hasMessageContaining("'grace'");
        assertThatThrownBy(() -> s.apply(released(11, "{\"offset\":9}"))).hasMessageContaining("vm id");
        assertThatThrownBy(() -> s.apply(change(11, "removed", "{\"id\":\"vm_000001\",\"ports\":"
            + "{\"pcpu\":\"x\"}}"))).hasMessageContaining("ports.pcpu");
        assertThat(s.publish()).as("nothing was applied").isNull();
        assertThat(s.published()).isSameAs(before);
        assertThat(s.version()).isEqualTo(10);
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
    void aSnapshotReadsTheSameWhateverTheFieldOrder() throws Exception {
        // Snapshots are read VM by VM when 'version' comes first (as Genesis writes them), else as one tree: the
        // two paths must agree, on views and on refusals.
        String vms = "[" + vm("vm_000001", "10.0.0.1", "active") + "," + vm("vm_000002", "10.0.0.2", "draining") + "]";
        WatchState first = new WatchState();
        first.apply(new SseDecoder.Event("7", "snapshot", "{\"version\":7,\"extra\":{\"a\":[1,2]},\"vms\":" + vms
            + ",\"self_preservation\":true}"));
        WatchState last = new WatchState();
        last.apply(new SseDecoder.Event("7", "snapshot", "{\"vms\":" + vms + ",\"self_preservation\":true,"
            + "\"version\":7}"));
        SwarmView a = first.publish();
        SwarmView b = last.publish();
        assertThat(a.vms()).isEqualTo(b.vms()).containsOnlyKeys("vm_000001", "vm_000002");
        assertThat(a.version()).isEqualTo(b.version()).isEqualTo(7);
        assertThat(a.selfPreservation()).isTrue();
        assertThat(b.selfPreservation()).isTrue();

        for (String bad : new String[] {
            "{\"version\":8,\"vms\":[" + vm("vm_000001", "10.0.0.1", "active") + ",{\"id\":\"vm_000003\"}]}",
            "{\"version\":8,\"vms\":[" + vm("vm_000001", "10.0.0.1", "active") + ","
                + vm("vm_000001", "10.0.0.9", "active") + "]}",
            "{\"version\":8,\"vms\":{}}",
            "{\"version\":8,\"vms\":[],\"grace\":7}",
            "{\"version\":8,\"version\":9,\"vms\":[]}",
            "{\"version\":8}",
            "{\"version\":\"8\",\"vms\":[]}",
            "{\"version\":8,\"vms\":[",
            "[]"}) {
            assertThatThrownBy(() -> first.apply(new SseDecoder.Event("8", "snapshot", bad))).as(bad)
                .isInstanceOf(WatchState.Relist.class);
            assertThat(first.publish()).as("nothing of a refused snapshot is applied: " + bad).isNull();
            assertThat(first.version()).isEqualTo(7);
        }
    }

    /**
     * A snapshot's VMs are read straight from the parser, a change's VM from its tree: both give the same VmInfo,
     * whatever the order of its fields (unknown ones of any shape skipped), and refuse the same VMs with the same
     * message naming the field (and the VM, even when its id comes last).
     */
    @Test
    void aSnapshotVmReadFromTheParserIsCheckedAsAChangesVmWithTheSameMessages() throws Exception {
        String reordered = "{\"ports\":{\"pcpu\":10001,\"pfsshfs\":20001},\"x\":{\"y\":[1,{\"z\":null}]},"
            + "\"state\":\"draining\",\"services\":{\"pcpu\":7000,\"ssh\":22},\"instance\":null,"
            + "\"ip\":\"10.0.0.1\",\"id\":\"vm_000001\",\"n\":1.5}";
        WatchState streamed = new WatchState();
        streamed.apply(snapshot(10, reordered));
        WatchState tree = new WatchState();
        tree.apply(snapshot(10));
        tree.apply(change(11, "added", reordered));
        VmInfo a = streamed.publish().vms().get("vm_000001");
        assertThat(a).isEqualTo(tree.publish().vms().get("vm_000001"));
        assertThat(a.services()).isEqualTo(java.util.Map.of("pcpu", 7000, "ssh", 22));
        assertThat(a.ports()).isEqualTo(java.util.Map.of("pcpu", 10001, "pfsshfs", 20001));
        assertThat(a.state()).isEqualTo(VmInfo.State.DRAINING);
        assertThat(a.instance()).isNull();
        assertThat(a.port("pcpu")).isEqualTo(10001);
        assertThat(a.service("ws")).isEqualTo(-1);

        String ok = "\"services\":{\"pcpu\":7000},\"ports\":{\"pcpu\":10001}";
        String[][] refused = {
            {"7", "a VM at version %d is not an object"},
            {"[1]", "a VM at version %d is not an object"},
            {"{\"ip\":\"10.0.0.1\",\"state\":\"active\"," + ok + "}", "a VM at version %d has no valid 'id'"},
            {"{\"id\":7,\"ip\":\"10.0.0.1\",\"state\":\"active\"," + ok + "}",
                "a VM at version %d has no valid 'id'"},
            {"{\"id\":\"vm 1\",\"ip\":\"10.0.0.1\",\"state\":\"active\"," + ok + "}",
                "a VM at version %d has no valid 'id'"},
            {"{\"instance\":{},\"ip\":\"10.0.0.1\",\"state\":\"active\"," + ok + ",\"id\":\"vm_000002\"}",
                "vm_000002 at version %d: 'instance' is not a string"},
            {"{\"id\":\"vm_000002\",\"ip\":\"10.0.0.256\",\"state\":\"active\"," + ok + "}",
                "vm_000002 at version %d: 'ip' is not an IP address"},
            {"{\"id\":\"vm_000002\",\"ip\":[\"10.0.0.2\"],\"state\":\"active\"," + ok + "}",
                "vm_000002 at version %d: 'ip' is not an IP address"},
            {"{\"id\":\"vm_000002\",\"ip\":\"10.0.0.2\",\"state\":\"gone\"," + ok + "}",
                "vm_000002 at version %d: 'state' is not active or draining"},
            {"{\"id\":\"vm_000002\",\"ip\":\"10.0.0.2\",\"state\":\"active\",\"ports\":{}}",
                "vm_000002 at version %d: 'services' is not an object"},
            {"{\"id\":\"vm_000002\",\"ip\":\"10.0.0.2\",\"state\":\"active\",\"services\":[],\"ports\":{}}",
                "vm_000002 at version %d: 'services' is not an object"},
            {"{\"ports\":{\"pcpu\":\"10001\"},\"services\":{\"ok\":1,\"pcpu\":70000,\"b\":0},"
                + "\"ip\":\"10.0.0.2\",\"state\":\"active\",\"id\":\"vm_000002\"}",
                "vm_000002 at version %d: services.pcpu is not a port 1..65535"},
            {"{\"id\":\"vm_000002\",\"ip\":\"10.0.0.2\",\"state\":\"active\",\"services\":{},"
                + "\"ports\":{\"pcpu\":{\"a\":1}}}", "vm_000002 at version %d: ports.pcpu is not a port 1..65535"},
            {"{\"id\":\"vm_000002\",\"ip\":\"10.0.0.2\",\"state\":\"active\",\"services\":{},"
                + "\"ports\":{\"pcpu\":18446744073709551617}}", "vm_000002 at version %d: ports.pcpu is not a port"},
            {"{\"id\":\"vm_000002\",\"ip\":\"10.0.0.2\",\"state\":\"active\",\"services\":{},"
                + "\"ports\":{\"pcpu\":10001.0}}", "vm_000002 at version %d: ports.pcpu is not a port"}};
        for (String[] r : refused) {
            assertThatThrownBy(() -> streamed.apply(snapshot(20, vm("vm_000001", "10.0.0.1", "active"), r[0])))
                .as(r[0]).isInstanceOfSatisfying(WatchState.Relist.class, e -> assertThat(e.malformed).isTrue())
                .hasMessageStartingWith(String.format(r[1], 20));
            assertThatThrownBy(() -> tree.apply(change(12, "added", r[0]))).as(r[0])
                .isInstanceOf(WatchState.Relist.class).hasMessageStartingWith(String.format(r[1], 12));
        }
        assertThat(streamed.publish()).as("nothing of a refused snapshot is applied").isNull();
        assertThat(streamed.version()).isEqualTo(10);
        assertThat(tree.version()).isEqualTo(11);
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

    /**
     * A relist keeps the VM objects the view already holds for VMs that did not change (what stays alive across the
     * young collections is only what changed), and a published view's maps are never changed by later events
     * (they are shared with the state until a change copies them).
     */
    @Test
    void aRelistKeepsUnchangedVmsAndPublishedViewsStayAsTheyWere() throws Exception {
        WatchState s = new WatchState();
        s.apply(snapshot(10, vm("vm_000001", "10.0.0.1", "active"), vm("vm_000002", "10.0.0.2", "active")));
        SwarmView first = s.publish();
        s.apply(snapshot(20, vm("vm_000001", "10.0.0.1", "active"), vm("vm_000002", "10.0.0.9", "active"),
            vm("vm_000003", "10.0.0.3", "active")));
        SwarmView second = s.publish();
        assertThat(second.vms().get("vm_000001")).as("unchanged: the same object").isSameAs(first.vms()
            .get("vm_000001"));
        assertThat(second.vms().get("vm_000002")).isNotSameAs(first.vms().get("vm_000002"))
            .extracting(VmInfo::ip).isEqualTo("10.0.0.9");
        // the same through the whole-tree reader (vms before version)
        s.apply(new SseDecoder.Event("30", "snapshot", "{\"vms\":[" + vm("vm_000001", "10.0.0.1", "active")
            + "],\"version\":30}"));
        assertThat(s.publish().vms().get("vm_000001")).isSameAs(first.vms().get("vm_000001"));
        s.apply(change(31, "added", vm("vm_000004", "10.0.0.4", "active")));
        s.apply(change(32, "updated", vm("vm_000001", "10.0.0.1", "active")));
        SwarmView third = s.publish();
        assertThat(third.vms().get("vm_000001")).isSameAs(first.vms().get("vm_000001"));
        s.apply(change(33, "removed", "{\"id\":\"vm_000001\"}"));
        assertThat(s.publish().vms()).containsOnlyKeys("vm_000004");
        assertThat(third.vms()).as("published views never change").containsOnlyKeys("vm_000001", "vm_000004");
        assertThat(second.vms()).containsOnlyKeys("vm_000001", "vm_000002", "vm_000003");
    }
}
