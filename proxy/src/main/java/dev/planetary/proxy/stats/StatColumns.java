package dev.planetary.proxy.stats;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * HAProxy 2.6's {@code show stat} columns, in order, with each column's typed-form tag per row type, read from
 * {@code haproxy-2.6-stat-fields.txt} (taken from haproxy 2.6 itself: see that file). The column {@code -} separates
 * HAProxy's general fields from its modules' (ssl, h2, h1) and is always {@code -} in a row.
 */
public final class StatColumns {

    /** The header line of {@code show stat}, exactly as HAProxy 2.6 prints it (trailing comma included). */
    public static final String HEADER;
    private static final List<String> NAMES;
    private static final Map<String, Integer> INDEX = new HashMap<>();
    /** [type F/B/S][column]: "ONS:type" tag of the typed form, or null where HAProxy leaves the column empty. */
    private static final String[][] TAGS;
    /** Index of the '-' separator column. */
    public static final int SEPARATOR;

    static {
        List<String> names = new ArrayList<>();
        List<String[]> tags = new ArrayList<>();
        try (InputStream in = StatColumns.class.getResourceAsStream("haproxy-2.6-stat-fields.txt");
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] p = line.trim().split("\\s+");
                names.add(p[0]);
                tags.add(new String[] {tag(p[1]), tag(p[2]), tag(p[3])});
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        NAMES = List.copyOf(names);
        for (int i = 0; i < NAMES.size(); i++) {
            INDEX.put(NAMES.get(i), i);
        }
        TAGS = new String[3][NAMES.size()];
        for (int i = 0; i < NAMES.size(); i++) {
            for (int t = 0; t < 3; t++) {
                TAGS[t][i] = tags.get(i)[t];
            }
        }
        SEPARATOR = INDEX.get("-");
        HEADER = "# " + String.join(",", NAMES) + ",";
    }

    private StatColumns() {
    }

    private static String tag(String s) {
        return "-".equals(s) ? null : s;
    }

    public static int count() {
        return NAMES.size();
    }

    public static String name(int column) {
        return NAMES.get(column);
    }

    public static List<String> names() {
        return NAMES;
    }

    /** The column's index; an unknown name is a programming error. */
    public static int index(String name) {
        Integer i = INDEX.get(name);
        if (i == null) {
            throw new IllegalArgumentException("no show stat column named " + name);
        }
        return i;
    }

    /** The typed-form tag ("MCP:u64") of a column for a row type, or null where HAProxy leaves it empty. */
    static String tag(StatRow.Type type, int column) {
        return TAGS[type.ordinal()][column];
    }

    /** The field's position in the typed form, which does not count the separator column. */
    static int typedPosition(int column) {
        return column > SEPARATOR ? column - 1 : column;
    }
}
