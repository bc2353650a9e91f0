package dev.planetary.swarm;

/**
 * Who a local VM is, as its services tell a client: the id Genesis gave it (its instance key until it is
 * registered), the instance key and its address.
 */
interface VmIdentity {

    /** Genesis' id ({@code vm_...}), or the instance key while not registered yet. */
    String id();

    String instance();

    String address();
}
