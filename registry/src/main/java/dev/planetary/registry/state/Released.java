package dev.planetary.registry.state;

import dev.planetary.core.ports.PortPlan.Ports;

/**
 * A removed VM's reservation: its ports, kept for it (and its instance key, if any) until the grace period has passed;
 * in a {@code released} change, the reservation that was just freed.
 */
public record Released(String id, String instance, Ports ports) {
    public int offset() {
        return ports.offset();
    }
}
