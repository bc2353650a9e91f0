package dev.planetary.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * Coverage-guided fuzzing of the config parser (Jazzer). In the normal build the seed corpus under
 * {@code src/test/resources/dev/planetary/core/config/ConfigParserFuzzTestInputs/parse/} runs as regression tests;
 * {@code JAZZER_FUZZ=1} fuzzes for {@link #MAX_DURATION} (see README "Fuzzing").
 *
 * <p>The parser's contract: whatever the bytes, it never throws; every error and warning reads
 * {@code parsing [FILE:LINE] : ...} with a line of the file, and has no control characters left (they are escaped).
 */
class ConfigParserFuzzTest {

    /** Bound of one CI fuzzing run: tens of seconds per target keeps the fuzz step under two minutes. */
    static final String MAX_DURATION = "15s";

    private static final String FILE = "fuzz.cfg";
    private static final Pattern MESSAGE = Pattern.compile("parsing \\[" + Pattern.quote(FILE) + ":(\\d+)] : .+",
        Pattern.DOTALL);

    @FuzzTest(maxDuration = MAX_DURATION)
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        // "$A" and "${A}" expand to a word with a space, "$E" to nothing, anything else is unset
        ConfigResult r = ConfigParser.parse(FILE, text, name -> switch (name) {
            case "A" -> "127.0.0.1:80 x";
            case "E" -> "";
            default -> null;
        });
        long lines = text.chars().filter(c -> c == '\n').count() + 1;
        assertThat(r.errors().size()).isLessThanOrEqualTo(ConfigParser.MAX_ERRORS + 1);
        for (int i = 0; i < r.errors().size(); i++) {
            String e = r.errors().get(i);
            if (i == ConfigParser.MAX_ERRORS) {
                assertThat(e).contains("more");
                continue;
            }
            checkMessage(e, lines);
        }
        for (String w : r.warnings()) {
            checkMessage(w, lines);
        }
        if (r.ok()) {
            assertThat(r.config()).isNotNull();
        }
    }

    private static void checkMessage(String m, long lines) {
        var matcher = MESSAGE.matcher(m);
        assertThat(matcher.matches()).as("FILE:LINE form: %s", m).isTrue();
        long line = Long.parseLong(matcher.group(1));
        assertThat(line).as("line of %s", m).isBetween(1L, lines);
        assertThat(m.chars().noneMatch(c -> c < 0x20 || c == 0x7f)).as("no raw control characters: %s", m).isTrue();
    }
}
