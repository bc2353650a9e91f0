package dev.planetary.registry.client;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * Genesis' port plan as it serves it on {@code GET /api/ports/plan}: for each port kind ({@code pcpu},
 * {@code pfsshfs}, {@code transfer}) the range it assigns from (the first port of each range is the balanced entrance
 * port), how many VMs can hold ports at once, and how long a removed VM's ports stay reserved.
 */
public record PortPlanInfo(Map<String, Range> kinds, int maxVms, long graceMillis) {

    /** An inclusive port range. */
    public record Range(int low, int high) {
        public Range {
            if (low < 1 || high > 65535 || low > high) {
                throw new IllegalArgumentException("port range " + low + "-" + high + " is not within 1-65535 "
                    + "with low <= high");
            }
        }

        public boolean contains(int port) {
            return port >= low && port <= high;
        }

        public int size() {
            return high - low + 1;
        }
    }

    public PortPlanInfo {
        kinds = Collections.unmodifiableMap(new TreeMap<>(kinds));
    }

    /** The range of {@code kind}, or null when the plan has no such kind. */
    public Range range(String kind) {
        return kinds.get(kind);
    }
}
