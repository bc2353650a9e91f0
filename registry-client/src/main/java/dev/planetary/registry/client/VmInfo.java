package dev.planetary.registry.client;

import java.util.Map;
import java.util.Objects;

/**
 * One VM as Genesis reports it, immutable. {@code ports}: port kind to port ({@code pcpu}, {@code pfsshfs},
 * {@code transfer}: the gateway ports Genesis assigned to it); {@code services}: service name to the port the VM
 * itself listens on. {@code instance} is null when the VM registered without an instance key, and always from a
 * Genesis that keeps instance keys from readers (its watch stream carries none). Both maps are immutable compact
 * {@link PortMap}s (iteration order unspecified; names shared between VMs, ports unboxed) rather than sorted trees or
 * the JDK's maps: a relist of a whole swarm of 1,999 VMs keeps two per VM, and every object it keeps is copied by
 * the young collections that pause the proxy's event loops (issue 8).
 */
public record VmInfo(String id, String instance, String ip, Map<String, Integer> services,
                     Map<String, Integer> ports, VmInfo.State state) {

    /** {@code ACTIVE} VMs take new connections; {@code DRAINING} ones left: no new connections, live ones finish. */
    public enum State {
        ACTIVE, DRAINING
    }

    public VmInfo {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(ip, "ip");
        Objects.requireNonNull(state, "state");
        services = PortMap.copyOf(services);
        ports = PortMap.copyOf(ports);
    }

    public boolean active() {
        return state == State.ACTIVE;
    }

    /** The VM's port for service {@code name}, or -1 when it does not declare it. */
    public int service(String name) {
        return ((PortMap) services).port(name);
    }

    /** The gateway port of {@code kind} Genesis assigned to the VM, or -1 when there is none. */
    public int port(String kind) {
        return ((PortMap) ports).port(kind);
    }
}
