package dev.planetary.registry.state;

import dev.planetary.core.ports.PortPlan.Ports;
import java.util.Map;

/**
 * One registered VM, immutable: a change to a VM publishes a new value. Liveness (last heartbeat, load) is not part
 * of it: heartbeats are not changes and are kept in {@link Liveness}. {@code secretHash} is the SHA-256 of the VM's
 * secret (base64url), null for a VM registered before Genesis gave VMs secrets; the secret itself is never kept.
 */
public record Vm(String id, String instance, String ip, int cores, long memoryMb, long storageBytes,
                 Map<String, Integer> services, Map<String, String> labels, Ports ports, Status status,
                 long registeredAtMillis, String secretHash) {

    /** Without a secret (a VM from before secrets, and tests that do not need one). */
    public Vm(String id, String instance, String ip, int cores, long memoryMb, long storageBytes,
              Map<String, Integer> services, Map<String, String> labels, Ports ports, Status status,
              long registeredAtMillis) {
        this(id, instance, ip, cores, memoryMb, storageBytes, services, labels, ports, status, registeredAtMillis,
            null);
    }

    /** {@code active} VMs take traffic and are in the mesh; {@code draining} ones left and are about to go. */
    public enum Status {
        ACTIVE, DRAINING;

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public Vm {
        services = Map.copyOf(services);
        labels = Map.copyOf(labels);
    }

    public Vm withStatus(Status s) {
        return new Vm(id, instance, ip, cores, memoryMb, storageBytes, services, labels, ports, s, registeredAtMillis,
            secretHash);
    }

    public Vm withSecretHash(String hash) {
        return new Vm(id, instance, ip, cores, memoryMb, storageBytes, services, labels, ports, status,
            registeredAtMillis, hash);
    }

    /** Same id and ports, the registration's declared fields, active again. */
    public Vm reRegistered(Registration r, String resolvedIp) {
        return new Vm(id, instance, resolvedIp, r.cores(), r.memoryMb(), r.storageBytes(), r.services(), r.labels(),
            ports, Status.ACTIVE, registeredAtMillis, secretHash);
    }
}
