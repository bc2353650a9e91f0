package dev.planetary.registry.client.haproxy;

import dev.planetary.registry.client.PortPlanInfo;
import dev.planetary.registry.client.SwarmView;
import dev.planetary.registry.client.VmInfo;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What HAProxy should hold for one swarm view, computed without I/O: for each mapped backend the servers (one per VM
 * that declares the backend's service, named by the VM's id, draining or not), and the pinned-port map (a VM's
 * gateway port of each mapped kind to its address and service port; active VMs only, as a draining VM takes no new
 * connection).
 */
record Desired(SortedMap<String, SortedMap<String, Server>> backends, SortedMap<String, String> pins) {

    /** One server: address, port, and whether it drains. */
    record Server(String ip, int port, boolean drain) {
        String addr() {
            return Desired.addr(ip, port);
        }
    }

    static Desired of(SwarmView view, Map<String, String> backendToService) {
        SortedMap<String, SortedMap<String, Server>> backends = new TreeMap<>();
        SortedMap<String, String> pins = new TreeMap<>();
        PortPlanInfo plan = view.portPlan().orElse(null);
        for (Map.Entry<String, String> m : backendToService.entrySet()) {
            SortedMap<String, Server> servers = new TreeMap<>();
            for (VmInfo vm : view.vms().values()) {
                int port = vm.service(m.getValue());
                if (port <= 0) {
                    continue;
                }
                servers.put(vm.id(), new Server(vm.ip(), port, !vm.active()));
                int pinned = vm.port(m.getKey());
                if (vm.active() && pinned > 0 && (plan == null || plan.range(m.getKey()) == null
                    || plan.range(m.getKey()).contains(pinned))) {
                    pins.put(Integer.toString(pinned), vm.ip() + "/" + port);
                }
            }
            backends.put(m.getKey(), servers);
        }
        return new Desired(backends, pins);
    }

    /** {@code ip:port}; HAProxy takes the port after the last colon, so IPv6 needs no brackets. */
    static String addr(String ip, int port) {
        return ip + ":" + port;
    }
}
