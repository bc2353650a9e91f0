package dev.planetary.core.balance;

import dev.planetary.core.backend.Server;

/**
 * Each server of a fixed array to its position in it, by identity: an open-addressing table of positions (one int
 * per slot, at least two slots per server), immutable once built. It replaces an {@code IdentityHashMap<Server,
 * Integer>}, whose table holds a key and a boxed value per slot at a third of its capacity: for a backend of 2,000
 * servers 64 KiB plus ~1,900 Integers against 16 KiB here, which a relist of a whole swarm makes for every backend
 * at once and the young collections during it copy (issue 8). A look-up reads the slot and the server it names,
 * with no unboxing: no slower than the map on the balancer's paths that use it ({@code refresh} on every release).
 */
final class IdentityIndex {

    private static final int[] EMPTY = new int[1];

    private final Server[] servers;
    /** Position + 1 of the server hashed to each slot (linear probing), 0 for an empty slot. */
    private final int[] slots;
    private final int mask;

    /** @param servers distinct servers; the array is read, not copied, and must not change afterwards */
    IdentityIndex(Server[] servers) {
        this.servers = servers;
        if (servers.length == 0) {
            slots = EMPTY;
            mask = 0;
            return;
        }
        int size = Integer.highestOneBit(Math.max(2, servers.length * 2 - 1)) << 1; // a power of two >= 2n
        slots = new int[size];
        mask = size - 1;
        for (int i = 0; i < servers.length; i++) {
            int h = hash(servers[i]) & mask;
            while (slots[h] != 0) {
                h = (h + 1) & mask;
            }
            slots[h] = i + 1;
        }
    }

    /** The server's position in the array, or -1 when it is not there. */
    int get(Server server) {
        int h = hash(server) & mask;
        for (;;) {
            int s = slots[h];
            if (s == 0) {
                return -1;
            }
            if (servers[s - 1] == server) {
                return s - 1;
            }
            h = (h + 1) & mask;
        }
    }

    private static int hash(Server server) {
        int h = System.identityHashCode(server) * 0x9E3779B9; // spreads the low bits the mask keeps
        return h ^ (h >>> 16);
    }
}
