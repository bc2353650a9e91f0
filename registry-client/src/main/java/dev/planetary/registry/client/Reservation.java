package dev.planetary.registry.client;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The ports of a removed VM that Genesis keeps reserved for it during its grace period, immutable: nobody else gets
 * them until Genesis logs their {@code released} change, so a follower must not send their connections anywhere.
 * {@code ports}: port kind to port, as in {@link VmInfo#ports()}. {@code instance} is null when the VM registered
 * without an instance key (and always from a Genesis that keeps instance keys from readers); {@code offset} is the port plan's offset, or -1 when the event that made the reservation
 * did not say it.
 */
public record Reservation(String id, String instance, int offset, Map<String, Integer> ports) {

    public Reservation {
        Objects.requireNonNull(id, "id");
        ports = Collections.unmodifiableMap(new TreeMap<>(ports));
    }

    /** The reserved port of {@code kind}, or -1 when there is none. */
    public int port(String kind) {
        Integer p = ports.get(kind);
        return p == null ? -1 : p;
    }
}
