package dev.planetary.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class LineTokenizerTest {

    private static final Map<String, String> ENV = Map.of("PORT", "8080", "EMPTY", "", "LIST", "a b\t c",
            "SPACED", "x y");

    private static List<String> words(String line) {
        LineTokenizer.Tokens t = LineTokenizer.tokenize(line, ENV::get, "f.cfg", 7, "backend");
        assertThat(t.error()).as("error for %s", line).isNull();
        return t.words();
    }

    private static String error(String line) {
        return LineTokenizer.tokenize(line, ENV::get, "f.cfg", 7, "backend").error();
    }

    @Test
    void splitsOnSpacesAndTabsAndSkipsLeadingWhitespace() {
        assertThat(words("  \t server   s1\t127.0.0.1:80  check ")).containsExactly("server", "s1", "127.0.0.1:80",
                "check");
        assertThat(words("")).isEmpty();
        assertThat(words("   \t ")).isEmpty();
    }

    @Test
    void commentsEndTheLineOutsideQuotesOnly() {
        assertThat(words("# a whole comment line")).isEmpty();
        assertThat(words("   # indented comment")).isEmpty();
        assertThat(words("bind :80 # the port")).containsExactly("bind", ":80");
        assertThat(words("bind :80#the port")).containsExactly("bind", ":80");
        assertThat(words("x \"a#b\" 'c#d' e\\#f")).containsExactly("x", "a#b", "c#d", "e#f");
    }

    @Test
    void doubleQuotesProtectSpacesAndJoinWithNeighbours() {
        assertThat(words("x \"a b\"")).containsExactly("x", "a b");
        assertThat(words("x \"a b\"'c'd")).containsExactly("x", "a bcd");
        assertThat(words("x \"it's\"")).containsExactly("x", "it's");
        assertThat(words("x \"\" y")).containsExactly("x", "", "y");
    }

    @Test
    void singleQuotesAreLiteral() {
        assertThat(words("x '$PORT \\n \\\\ \"q\"'")).containsExactly("x", "$PORT \\n \\\\ \"q\"");
        assertThat(words("x 'a  b'")).containsExactly("x", "a  b");
    }

    @Test
    void backslashEscapesOutsideQuotes() {
        assertThat(words("x a\\ b")).containsExactly("x", "a b");
        assertThat(words("x a\\\\b")).containsExactly("x", "a\\b");
        assertThat(words("x \\\"q\\\"")).containsExactly("x", "\"q\"");
        assertThat(words("x \\'q\\'")).containsExactly("x", "'q'");
        assertThat(words("x \\#")).containsExactly("x", "#");
        assertThat(words("x a\\tb a\\nb a\\rb")).containsExactly("x", "a\tb", "a\nb", "a\rb");
        assertThat(words("x \\x41\\x7e")).containsExactly("x", "A~");
        // Not an escape sequence: the backslash stays, as in HAProxy ("\1" in a regex replacement).
        assertThat(words("x \\1 \\q")).containsExactly("x", "\\1", "\\q");
        // "\$" is only an escape inside double quotes, where '$' means something.
        assertThat(words("x \\$PORT")).containsExactly("x", "\\$PORT");
    }

    @Test
    void backslashEscapesInsideDoubleQuotes() {
        assertThat(words("x \"a\\\"b\"")).containsExactly("x", "a\"b");
        assertThat(words("x \"\\$PORT\"")).containsExactly("x", "$PORT");
        assertThat(words("x \"a\\\\b\"")).containsExactly("x", "a\\b");
        assertThat(words("x \"\\x41\"")).containsExactly("x", "A");
    }

    @Test
    void environmentVariablesExpandInsideDoubleQuotesOnly() {
        assertThat(words("bind \"127.0.0.1:$PORT\"")).containsExactly("bind", "127.0.0.1:8080");
        assertThat(words("bind \"127.0.0.1:${PORT}\"0")).containsExactly("bind", "127.0.0.1:80800");
        assertThat(words("bind 127.0.0.1:$PORT")).containsExactly("bind", "127.0.0.1:$PORT");
        assertThat(words("bind '127.0.0.1:$PORT'")).containsExactly("bind", "127.0.0.1:$PORT");
        assertThat(words("x \"$UNSET\"y")).containsExactly("x", "y");
        assertThat(words("x \"${UNSET-9000}\"")).containsExactly("x", "9000");
        // The default replaces an unset variable, not an empty one.
        assertThat(words("x \"${EMPTY-9000}\"")).containsExactly("x", "");
        assertThat(words("x \"$SPACED\"")).containsExactly("x", "x y");
        assertThat(words("x \"${LIST[*]}\" z")).containsExactly("x", "a", "b", "c", "z");
        assertThat(words("x \"$PORT.$PORT\"")).containsExactly("x", "8080.8080");
        assertThat(words("x \"$.FILE:$.LINE $.SECTION\"")).containsExactly("x", "f.cfg:7 backend");
    }

    @Test
    void lineEndingsEndTheLine() {
        assertThat(words("bind :80\r")).containsExactly("bind", ":80");
        assertThat(words("bind :80\r\n")).containsExactly("bind", ":80");
        assertThat(words("bind :80\nignored")).containsExactly("bind", ":80");
    }

    @Test
    void reportsBrokenQuotingWithItsColumn() {
        assertThat(error("x \"abc")).isEqualTo("unmatched quote at column 3");
        assertThat(error("x 'abc")).isEqualTo("unmatched quote at column 3");
        assertThat(error("x \\x4")).isEqualTo("truncated or invalid hexadecimal sequence at column 3");
        assertThat(error("x \"$1\"")).isEqualTo("forbidden first character in environment variable name at column 5");
        assertThat(error("x \"${PORT\"")).isEqualTo("unmatched brace in environment variable name at column 5");
        assertThat(error("x \"${PORT-80\"")).isEqualTo("unmatched brace in environment variable name at column 5");
        assertThat(error("x \"${LIST[1]}\"")).isEqualTo("wrong word expansion sequence at column 10 (only '[*]' is"
                + " supported)");
        assertThat(error("x \"$.NOPE\"")).isEqualTo("unsupported internal variable name '.NOPE' at column 5");
    }

    @Test
    void limitsWordsPerLineAsHaproxy() {
        String ok = String.join(" ", Collections.nCopies(LineTokenizer.MAX_WORDS, "w"));
        assertThat(words(ok)).hasSize(LineTokenizer.MAX_WORDS);
        assertThat(error(ok + " w")).isEqualTo("too many words on one line (at most 64)");
    }

    @Test
    void usesTheGivenEnvironmentOnly() {
        Function<String, String> none = name -> null;
        assertThat(LineTokenizer.tokenize("x \"$PORT\"", none, "f", 1, "").words()).containsExactly("x", "");
    }
}
