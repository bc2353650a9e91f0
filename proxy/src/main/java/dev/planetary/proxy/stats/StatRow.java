package dev.planetary.proxy.stats;

import java.util.Arrays;

/**
 * One row of {@code show stat}: a frontend, a backend or a server, with a value per {@link StatColumns column}
 * (null: empty, as HAProxy leaves columns that mean nothing for the row's type or for TCP mode). Immutable once
 * built by {@link StatsCollector}.
 */
public final class StatRow {

    /** Row types in HAProxy's order of {@code type} values (0, 1, 2) and typed-form letters. */
    public enum Type {
        FRONTEND('F'), BACKEND('B'), SERVER('S');

        final char letter;

        Type(char letter) {
            this.letter = letter;
        }

        /** HAProxy's {@code show stat} type bit: 1 frontends, 2 backends, 4 servers. */
        public int bit() {
            return 1 << ordinal();
        }
    }

    private final Type type;
    private final int iid;
    private final int sid;
    private final String[] values;

    StatRow(Type type, int iid, int sid, String[] values) {
        this.type = type;
        this.iid = iid;
        this.sid = sid;
        this.values = values;
    }

    public Type type() { return type; }
    public int iid() { return iid; }
    public int sid() { return sid; }
    public String proxyName() { return values[0]; }
    public String serverName() { return values[1]; }

    /** The value of a column, or null when empty. */
    public String get(int column) {
        return values[column];
    }

    public String get(String column) {
        return values[StatColumns.index(column)];
    }

    /** A long column's value, or {@code dflt} when empty. */
    public long getLong(String column, long dflt) {
        String v = get(column);
        return v == null ? dflt : Long.parseLong(v);
    }

    @Override
    public String toString() {
        return type + " " + Arrays.toString(values);
    }

    /** Builds a row column by column. */
    static final class Builder {
        private final Type type;
        private final int iid;
        private final int sid;
        private final String[] values = new String[StatColumns.count()];
        private final boolean[] blank = new boolean[StatColumns.count()];

        Builder(Type type, int iid, int sid) {
            this.type = type;
            this.iid = iid;
            this.sid = sid;
            values[StatColumns.SEPARATOR] = "-";
        }

        Builder put(String column, String value) {
            values[StatColumns.index(column)] = value;
            return this;
        }

        /** Leaves a column empty although HAProxy fills it for other rows of this type (no check, no maxconn). */
        Builder blank(String column) {
            int c = StatColumns.index(column);
            values[c] = null;
            blank[c] = true;
            return this;
        }

        /** Applies a group of columns several row types share. */
        Builder putAll(java.util.function.Consumer<Builder> columns) {
            columns.accept(this);
            return this;
        }

        Builder put(String column, long value) {
            return put(column, Long.toString(value));
        }

        /** Every column HAProxy fills for this row type and we have no figure for: 0, as HAProxy prints them. */
        Builder zeroRest() {
            for (int c = 0; c < values.length; c++) {
                String tag = StatColumns.tag(type, c);
                if (values[c] == null && !blank[c] && tag != null && !tag.endsWith(":str")) {
                    values[c] = "0";
                }
            }
            return this;
        }

        StatRow build() {
            return new StatRow(type, iid, sid, values);
        }
    }
}
