package dev.planetary.core.config;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Cuts one configuration line into words exactly as HAProxy's {@code parse_line()} ({@code src/tools.c}) does
 * for its configuration files (manual sections 2.2 and 2.3):
 * <ul>
 *   <li>spaces and tabs separate words; a line ends at {@code \n}, {@code \r} or end of text;</li>
 *   <li>{@code #} starts a comment outside quotes;</li>
 *   <li>single quotes are strong: nothing inside them is interpreted;</li>
 *   <li>double quotes are weak: they protect spaces, {@code #} and {@code '}, and expand environment variables
 *       {@code $VAR}, {@code ${VAR}}, {@code ${VAR-default}} (default only when unset) and {@code ${VAR[*]}}
 *       (one word per space-separated part); {@code $.FILE}, {@code $.LINE} and {@code $.SECTION} name the
 *       current position; variables are never expanded outside double quotes;</li>
 *   <li>outside single quotes, a backslash escapes {@code \ }, {@code \\}, {@code \#}, {@code \'},
 *       {@code \"}, {@code \$} (inside double quotes only), and makes {@code \t}, {@code \n}, {@code \r},
 *       {@code \xHH}; a backslash before any other character is kept as is;</li>
 *   <li>quoted and unquoted pieces written together form one word ({@code "a b"'c'd} is {@code a bcd}).</li>
 * </ul>
 */
final class LineTokenizer {

    /** HAProxy's {@code MAX_LINE_ARGS}: more words than this on one line is an error. */
    static final int MAX_WORDS = 64;

    /** The words of one line, or why it could not be cut (then {@code words} holds what was read so far). */
    record Tokens(List<String> words, String error) {
    }

    private LineTokenizer() {
    }

    /**
     * @param line    one line of text, without or with its line ending
     * @param env     environment lookup; returns null for an unset variable
     * @param file    for {@code $.FILE}
     * @param lineNo  for {@code $.LINE}
     * @param section for {@code $.SECTION}, the current section keyword or ""
     */
    static Tokens tokenize(String line, Function<String, String> env, String file, int lineNo, String section) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        boolean squote = false;
        boolean dquote = false;
        int quoteAt = -1;
        int n = line.length();
        int i = 0;
        while (i < n) {
            char c = line.charAt(i);
            if (c == '\n' || c == '\r') {
                break;
            } else if (c == '#' && !squote && !dquote) {
                break;
            } else if (c == '"' && !squote) {
                dquote = !dquote;
                quoteAt = dquote ? i : -1;
                inWord = true;
                i++;
            } else if (c == '\'' && !dquote) {
                squote = !squote;
                quoteAt = squote ? i : -1;
                inWord = true;
                i++;
            } else if (c == '\\' && !squote) {
                char next = i + 1 < n ? line.charAt(i + 1) : '\0';
                switch (next) {
                    case ' ', '\\', '#', '\'', '"' -> {
                        word.append(next);
                        i += 2;
                    }
                    case 't' -> {
                        word.append('\t');
                        i += 2;
                    }
                    case 'n' -> {
                        word.append('\n');
                        i += 2;
                    }
                    case 'r' -> {
                        word.append('\r');
                        i += 2;
                    }
                    case '$' -> {
                        // "\$" is a dollar only where a dollar would mean something: inside double quotes.
                        if (dquote) {
                            word.append('$');
                            i += 2;
                        } else {
                            word.append('\\');
                            i++;
                        }
                    }
                    case 'x' -> {
                        int h1 = i + 2 < n ? Character.digit(line.charAt(i + 2), 16) : -1;
                        int h2 = i + 3 < n ? Character.digit(line.charAt(i + 3), 16) : -1;
                        if (h1 < 0 || h2 < 0) {
                            return new Tokens(words, "truncated or invalid hexadecimal sequence at column " + (i + 1));
                        }
                        word.append((char) (h1 * 16 + h2));
                        i += 4;
                    }
                    default -> {
                        // Not an escape sequence (e.g. "\1" in a regex): the backslash stays.
                        word.append('\\');
                        i++;
                    }
                }
                inWord = true;
            } else if (isSpace(c) && !squote && !dquote) {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
                i++;
            } else if (c == '$' && dquote) {
                int start = i;
                i++;
                boolean brace = i < n && line.charAt(i) == '{';
                if (brace) {
                    i++;
                }
                if (i >= n || !(Character.isLetter(line.charAt(i)) && line.charAt(i) < 128
                        || line.charAt(i) == '_' || line.charAt(i) == '.')) {
                    return new Tokens(words, "forbidden first character in environment variable name at column "
                            + (i + 1));
                }
                int nameStart = i;
                if (line.charAt(i) == '.') {
                    i++;
                }
                while (i < n && (isAsciiAlnum(line.charAt(i)) || line.charAt(i) == '_')) {
                    i++;
                }
                String name = line.substring(nameStart, i);
                String value;
                if (name.startsWith(".")) {
                    switch (name) {
                        case ".FILE" -> value = file;
                        case ".LINE" -> value = Integer.toString(lineNo);
                        case ".SECTION" -> value = section;
                        default -> {
                            return new Tokens(words, "unsupported internal variable name '" + name
                                    + "' at column " + (nameStart + 1));
                        }
                    }
                } else {
                    value = env.apply(name);
                }
                boolean expandWords = false;
                if (brace && i < n && line.charAt(i) == '[') {
                    if (i + 2 < n && line.charAt(i + 1) == '*' && line.charAt(i + 2) == ']') {
                        expandWords = true;
                        i += 3;
                    } else {
                        return new Tokens(words, "wrong word expansion sequence at column " + (i + 1)
                                + " (only '[*]' is supported)");
                    }
                }
                if (brace) {
                    if (i < n && line.charAt(i) == '-') {
                        int close = line.indexOf('}', i);
                        if (close < 0) {
                            return new Tokens(words, "unmatched brace in environment variable name at column "
                                    + (start + 2));
                        }
                        if (value == null) {
                            value = line.substring(i + 1, close);
                        }
                        i = close;
                    }
                    if (i >= n || line.charAt(i) != '}') {
                        return new Tokens(words, "unmatched brace in environment variable name at column "
                                + (start + 2));
                    }
                    i++;
                }
                inWord = true;
                if (value != null) {
                    for (int k = 0; k < value.length(); k++) {
                        char v = value.charAt(k);
                        if (expandWords && isSpace(v)) {
                            words.add(word.toString());
                            word.setLength(0);
                            while (k + 1 < value.length() && isSpace(value.charAt(k + 1))) {
                                k++;
                            }
                        } else {
                            word.append(v);
                        }
                    }
                }
            } else {
                word.append(c);
                inWord = true;
                i++;
            }
        }
        if (quoteAt >= 0) {
            return new Tokens(words, "unmatched quote at column " + (quoteAt + 1));
        }
        if (inWord) {
            words.add(word.toString());
        }
        if (words.size() > MAX_WORDS) {
            return new Tokens(words, "too many words on one line (at most " + MAX_WORDS + ")");
        }
        return new Tokens(words, null);
    }

    /** C's isspace() minus the line endings, which end the line before this is asked. */
    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\u000b' || c == '\f';
    }

    private static boolean isAsciiAlnum(char c) {
        return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z';
    }
}
