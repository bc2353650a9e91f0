package dev.planetary.proxy.stats;

import java.util.List;

/**
 * What a reader sees at one moment: the {@code show stat} rows (in HAProxy's order: per proxy, its frontend, its
 * servers, its backend) and the {@code show info} fields. Immutable.
 */
public record StatsSnapshot(List<StatRow> rows, List<InfoField> info, long nowNanos) {

    public StatsSnapshot {
        rows = List.copyOf(rows);
        info = List.copyOf(info);
    }

    /** One {@code show info} line: HAProxy's position, name, typed-form tag and value. */
    public record InfoField(int position, String name, String tag, String value) {
    }

    /** The info field of this name, or null. */
    public String info(String name) {
        for (InfoField f : info) {
            if (f.name().equals(name)) {
                return f.value();
            }
        }
        return null;
    }
}
