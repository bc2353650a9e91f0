package dev.planetary.core.config;

/**
 * Makes a message that may carry text from a configuration file safe to print on a terminal: control characters
 * become {@code \xNN} (an ESC sequence could clear the screen, retitle the window or hide the lines above it), the
 * characters that reorder or hide text (bidirectional overrides, line separators) become a backslash-u escape, and a
 * message longer than {@link #MAX_CHARS} keeps its head and tail around a count of what was cut (a file that is one
 * 8 MiB line must not become an 8 MiB error).
 */
final class Printable {

    /** Longest message kept: several times any message the parser writes with a sensible word in it. */
    static final int MAX_CHARS = 1_000;
    /** Of a cut message, the tail kept: it says where the error was ("in 'listen' section"). */
    private static final int TAIL_CHARS = 200;

    private Printable() {
    }

    static String of(String message) {
        StringBuilder b = null;
        int n = message.length();
        for (int i = 0; i < n; i++) {
            char c = message.charAt(i);
            String escaped = escape(c);
            if (escaped != null && b == null) {
                b = new StringBuilder(n + 16).append(message, 0, i);
            }
            if (b != null) {
                if (escaped != null) {
                    b.append(escaped);
                } else {
                    b.append(c);
                }
            }
        }
        String s = b == null ? message : b.toString();
        if (s.length() <= MAX_CHARS) {
            return s;
        }
        int head = MAX_CHARS - TAIL_CHARS;
        return s.substring(0, head) + "...[" + (s.length() - head - TAIL_CHARS) + " characters cut]..."
            + s.substring(s.length() - TAIL_CHARS);
    }

    private static String escape(char c) {
        if (Character.getType(c) == Character.CONTROL) { // C0, DEL and C1
            return String.format("\\x%02x", (int) c);
        }
        if (c == '\u200e' || c == '\u200f' || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069')
            || c == '\u2028' || c == '\u2029' || c == '\u061c') {
            return String.format("\\u%04x", (int) c);
        }
        return null;
    }
}
