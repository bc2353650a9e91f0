package dev.planetary.core.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Table-driven: every file in {@code src/test/resources/config/bad/} ends with the exact errors it must produce,
 * one {@code # expect: MESSAGE} line each, in order (and optionally {@code # expect warning: MESSAGE} lines,
 * then the warnings must match exactly too). Adding a case is adding a file.
 */
class BadConfigTest {

    private static final String EXPECT = "# expect: ";
    private static final String EXPECT_WARNING = "# expect warning: ";
    private static final Map<String, String> ENV = Map.of("PORT", "8080", "LIST", "a b c");

    static Stream<String> badFiles() throws URISyntaxException, IOException {
        URL dir = BadConfigTest.class.getResource("/config/bad");
        assertThat(dir).as("test resources config/bad").isNotNull();
        try (Stream<Path> files = Files.list(Path.of(dir.toURI()))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cfg")).sorted().toList()
                    .stream();
        }
    }

    private static String read(String name) {
        try (InputStream in = BadConfigTest.class.getResourceAsStream("/config/bad/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> expected(String text, String prefix) {
        return text.lines().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length())).toList();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badFiles")
    void reportsExactlyTheExpectedErrors(String name) {
        String text = read(name);
        List<String> errors = expected(text, EXPECT);
        List<String> warnings = expected(text, EXPECT_WARNING);
        assertThat(errors).as("a bad file must list the errors it expects").isNotEmpty();

        ConfigResult result = ConfigParser.parse("bad/" + name, text, ENV::get);

        assertThat(result.ok()).isFalse();
        assertThat(result.config()).isNull();
        assertThat(result.errors()).containsExactlyElementsOf(errors);
        if (!warnings.isEmpty()) {
            assertThat(result.warnings()).containsExactlyElementsOf(warnings);
        }
    }

    @Test
    void theTableIsNotEmpty() throws Exception {
        assertThat(badFiles()).hasSizeGreaterThanOrEqualTo(15);
    }
}
