package dev.planetary.registry.state;

import java.util.Map;

/** A validated registration body ({@code ip} null: use the connection's source address). */
public record Registration(String ip, int cores, long memoryMb, long storageBytes, Map<String, Integer> services,
                           Map<String, String> labels, String instance) {
    public Registration {
        services = Map.copyOf(services);
        labels = Map.copyOf(labels);
    }
}
