package dev.planetary.registry.state;

import dev.planetary.core.ports.PortPlan.Ports;

/**
 * A removed VM's reservation: its ports, kept for it (and its instance key, if any) until the grace period has passed;
 * in a {@code released} change, the reservation that was just freed. {@code ip} and {@code secretHash} are the removed
 * VM's, for a re-registration within the grace period to prove it is that VM (null when not recorded).
 */
public record Released(String id, String instance, Ports ports, String ip, String secretHash) {

    /** Without the removed VM's address and secret (a reservation recorded before VMs had secrets). */
    public Released(String id, String instance, Ports ports) {
        this(id, instance, ports, null, null);
    }

    public int offset() {
        return ports.offset();
    }
}
