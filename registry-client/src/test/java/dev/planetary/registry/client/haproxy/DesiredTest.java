package dev.planetary.registry.client.haproxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.registry.client.PortPlanInfo;
import dev.planetary.registry.client.SwarmView;
import dev.planetary.registry.client.VmInfo;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What HAProxy should hold for a view: servers per mapped service, drains, and pins for active VMs only. */
class DesiredTest {

    private static final PortPlanInfo PLAN = new PortPlanInfo(Map.of("pcpu", new PortPlanInfo.Range(100, 109),
        "pfsshfs", new PortPlanInfo.Range(200, 209), "transfer", new PortPlanInfo.Range(300, 309)), 9, 60_000);

    private static VmInfo vm(String id, String ip, Map<String, Integer> services, int offset, VmInfo.State state) {
        return new VmInfo(id, null, ip, services, Map.of("pcpu", 100 + offset, "pfsshfs", 200 + offset,
            "transfer", 300 + offset), state);
    }

    @Test
    void serversPerServiceDrainsAndPinsOfActiveVmsOnly() {
        SwarmView view = SwarmView.of(7, Map.of(
            "vm_a", vm("vm_a", "10.0.0.1", Map.of("pcpu", 7000, "ssh", 22), 1, VmInfo.State.ACTIVE),
            "vm_b", vm("vm_b", "10.0.0.2", Map.of("pcpu", 7001), 2, VmInfo.State.DRAINING),
            "vm_c", vm("vm_c", "fd00::3", Map.of("ssh", 2222), 3, VmInfo.State.ACTIVE)), PLAN);
        Desired d = Desired.of(view, SyncHaproxyMain.DEFAULT_MAP);

        assertThat(d.backends().get("pcpu")).isEqualTo(Map.of(
            "vm_a", new Desired.Server("10.0.0.1", 7000, false),
            "vm_b", new Desired.Server("10.0.0.2", 7001, true)));
        assertThat(d.backends().get("pfsshfs")).isEqualTo(Map.of(
            "vm_a", new Desired.Server("10.0.0.1", 22, false),
            "vm_c", new Desired.Server("fd00::3", 2222, false)));
        assertThat(d.backends().get("transfer")).as("nobody declares transfer").isEmpty();
        assertThat(d.backends().get("ws")).isEmpty();
        // pinned: each kind's port to the VM's service of that backend; the draining b has none
        assertThat(d.pins()).isEqualTo(Map.of("101", "10.0.0.1/7000", "201", "10.0.0.1/22", "203", "fd00::3/2222"));
        assertThat(new Desired.Server("fd00::3", 2222, false).addr()).isEqualTo("fd00::3:2222");
    }

    @Test
    void aPortOutsideThePlanIsNeverPinned() {
        SwarmView view = SwarmView.of(1, Map.of(
            "vm_a", vm("vm_a", "10.0.0.1", Map.of("pcpu", 7000), 50, VmInfo.State.ACTIVE)), PLAN);
        assertThat(Desired.of(view, Map.of("pcpu", "pcpu")).pins()).isEmpty();
    }
}
