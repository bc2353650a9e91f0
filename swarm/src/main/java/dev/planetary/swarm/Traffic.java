package dev.planetary.swarm;

import java.util.concurrent.atomic.LongAdder;

/** What the local VMs' services carried, summed over all of them: live connections and bytes each way. */
final class Traffic {

    final LongAdder connections = new LongAdder();
    final LongAdder bytesIn = new LongAdder();
    final LongAdder bytesOut = new LongAdder();

    long connections() {
        return connections.sum();
    }

    long bytes() {
        return bytesIn.sum() + bytesOut.sum();
    }
}
