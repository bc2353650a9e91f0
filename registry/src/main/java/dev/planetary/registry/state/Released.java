package dev.planetary.registry.state;

/** A removed VM's ports, still reserved for it (and its instance key, if any) until the grace period has passed. */
public record Released(String id, int offset, String instance) {
}
