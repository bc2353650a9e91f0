package dev.planetary.core.config;

import java.util.regex.Pattern;

/**
 * {@code discover genesis NAME service SVC}: the backend's servers are the VMs of Genesis {@code NAME} that declare
 * service {@code SVC}; each is named by its VM id, at the VM's ip and that service's port, with {@code options}.
 *
 * @param genesis the {@code genesis} section's name
 * @param service a service name as Genesis accepts it ({@link #SERVICE_NAME})
 * @param options {@code default-server} values in force at the {@code discover} line
 */
public record DiscoverConfig(String genesis, String service, ServerOptions options, Origin origin) {

    /** Genesis' rule for service names (its register API refuses any other). */
    public static final Pattern SERVICE_NAME = Pattern.compile("[a-z][a-z0-9_-]{0,31}");

    /** The server for one VM: named by the VM id, with this backend's options. */
    public ServerConfig server(String vmId, String ip, int port) {
        return options.server(vmId, ip, port, origin);
    }
}
