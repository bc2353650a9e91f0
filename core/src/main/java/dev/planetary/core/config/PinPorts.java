package dev.planetary.core.config;

import dev.planetary.core.ports.PortKind;

/**
 * {@code pin-ports KIND} in a frontend: a connection to a port that Genesis assigned to a VM as its {@code KIND}
 * port goes to that VM's server in the frontend's backend (which must discover its servers), never to another.
 */
public record PinPorts(PortKind kind, Origin origin) {
}
