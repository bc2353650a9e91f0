package dev.planetary.proxy.stats;

/**
 * Renders a {@link StatsSnapshot} as HAProxy 2.6 does: {@code show stat} CSV (header line, one line per row, each
 * ending with a comma), its typed form, and {@code show info} (plain and typed). Used by the stats socket and the
 * stats page's {@code ;csv}.
 */
public final class CsvFormat {

    /** HAProxy's process number in the typed forms (one process). */
    private static final int PROCESS = 1;

    private CsvFormat() {
    }

    /** {@code show stat}: the header and the rows the filter accepts. */
    public static String csv(StatsSnapshot snapshot, StatFilter filter) {
        StringBuilder sb = new StringBuilder(256 + snapshot.rows().size() * 512);
        sb.append(StatColumns.HEADER).append('\n');
        for (StatRow row : snapshot.rows()) {
            if (!filter.accepts(row)) {
                continue;
            }
            for (int c = 0; c < StatColumns.count(); c++) {
                String v = row.get(c);
                if (v != null) {
                    appendCsv(sb, v);
                }
                sb.append(',');
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** {@code show stat typed}: {@code T.iid.sid.pos.name.pid:tag:value} for every non-empty field. */
    public static String typed(StatsSnapshot snapshot, StatFilter filter) {
        StringBuilder sb = new StringBuilder();
        for (StatRow row : snapshot.rows()) {
            if (!filter.accepts(row)) {
                continue;
            }
            for (int c = 0; c < StatColumns.count(); c++) {
                String v = row.get(c);
                String tag = StatColumns.tag(row.type(), c);
                if (v == null || tag == null || c == StatColumns.SEPARATOR) {
                    continue;
                }
                sb.append(row.type().letter).append('.').append(row.iid()).append('.').append(row.sid()).append('.')
                    .append(StatColumns.typedPosition(c)).append('.').append(StatColumns.name(c)).append('.')
                    .append(PROCESS).append(':').append(tag).append(':').append(v).append('\n');
            }
        }
        return sb.toString();
    }

    /** {@code show info}: {@code Name: value} lines. */
    public static String info(StatsSnapshot snapshot) {
        StringBuilder sb = new StringBuilder();
        for (StatsSnapshot.InfoField f : snapshot.info()) {
            sb.append(f.name()).append(": ").append(f.value()).append('\n');
        }
        return sb.toString();
    }

    /** {@code show info typed}: {@code pos.Name.pid:tag:value}. */
    public static String infoTyped(StatsSnapshot snapshot) {
        StringBuilder sb = new StringBuilder();
        for (StatsSnapshot.InfoField f : snapshot.info()) {
            sb.append(f.position()).append('.').append(f.name()).append('.').append(PROCESS).append(':')
                .append(f.tag()).append(':').append(f.value()).append('\n');
        }
        return sb.toString();
    }

    /** HAProxy's csv_enc: a value with a comma, quote or line break is quoted, quotes doubled. */
    private static void appendCsv(StringBuilder sb, String v) {
        boolean quote = false;
        for (int i = 0; i < v.length() && !quote; i++) {
            char ch = v.charAt(i);
            quote = ch == ',' || ch == '"' || ch == '\n' || ch == '\r';
        }
        if (!quote) {
            sb.append(v);
            return;
        }
        sb.append('"');
        for (int i = 0; i < v.length(); i++) {
            char ch = v.charAt(i);
            if (ch == '"') {
                sb.append('"');
            }
            sb.append(ch);
        }
        sb.append('"');
    }
}
