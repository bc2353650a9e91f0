package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** The haproxy-like command line: -c, -v, -f (repeatable), error output and exit codes. */
class CliTest {

    static final Path SHIPPED = Path.of("..", "conf", "planetary.cfg");

    record Result(int code, String out, String err) { }

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ProxyMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void nettysAllocatorPoolsBulkBuffersUnlessAValueIsGivenWithD() {
        String key = ProxyMain.NETTY_LOW_MEMORY;
        String before = System.getProperty(key);
        try {
            System.clearProperty(key);
            ProxyMain.systemDefaults();
            assertThat(System.getProperty(key)).as("default under the launcher's 256 MiB heap").isEqualTo("false");
            System.setProperty(key, "true");
            ProxyMain.systemDefaults();
            assertThat(System.getProperty(key)).as("-D%s=true kept", key).isEqualTo("true");
        } finally {
            if (before == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, before);
            }
        }
    }

    @Test
    void shippedConfigIsValid() {
        Result r = run("-c", "-f", SHIPPED.toString());
        assertThat(r.err()).doesNotContain("ALERT");
        assertThat(r.out()).isEqualTo("Configuration file is valid" + System.lineSeparator());
        assertThat(r.code()).isZero();
    }

    @Test
    void versionIsPrinted() {
        Result r = run("-v");
        assertThat(r.out()).startsWith("Planetary version ").contains("Netty 4.2.18.Final");
        assertThat(r.code()).isZero();
    }

    @Test
    void noFileIsAnError() {
        Result r = run("-c");
        assertThat(r.err()).contains("No configuration file given");
        assertThat(r.code()).isEqualTo(1);
    }

    @Test
    void unknownOptionIsAnErrorWithUsage() {
        Result r = run("-y");
        assertThat(r.err()).contains("Unknown option: '-y'").contains("Usage:");
        assertThat(r.code()).isEqualTo(1);
    }

    @Test
    void missingFileIsNamed(@TempDir Path dir) {
        Path missing = dir.resolve("nope.cfg");
        Result r = run("-c", "-f", missing.toString());
        assertThat(r.err()).contains(missing.toString());
        assertThat(r.code()).isEqualTo(1);
    }

    @Test
    void severalFilesAreReadInOrder(@TempDir Path dir) throws Exception {
        Path a = Files.writeString(dir.resolve("a.cfg"), "defaults\n    mode tcp\n    timeout connect 1s\n"
            + "    timeout client 1s\n    timeout server 1s\n");
        Path b = Files.writeString(dir.resolve("b.cfg"), "listen x\n    bind 127.0.0.1:19999\n"
            + "    server s 127.0.0.1:7000\n");
        Result r = run("-c", "-f", a.toString(), "-f", b.toString());
        assertThat(r.err()).isEmpty();
        assertThat(r.code()).isZero();
    }

    static Stream<Arguments> badConfigs() {
        String timeouts = "    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n";
        return Stream.of(
            Arguments.of("listen x\n    mode http\n    bind :19999\n    server s 127.0.0.1:7000\n" + timeouts,
                "[ALERT] config : parsing [bad.cfg:2] : listen 'x' : 'mode http' is only supported for a stats page:"
                    + " add 'stats enable' (and 'stats uri /'), or use 'mode tcp'; Planetary is a TCP (layer 4) proxy"),
            Arguments.of("frontend f\n    bind :19999\n    default_backend nope\n" + timeouts,
                "nope"),
            Arguments.of("backend b\n    frobnicate 3\n" + timeouts,
                "[ALERT] config : parsing [bad.cfg:2] : unknown keyword 'frobnicate' in 'backend' section"),
            Arguments.of("global\n    maxconn abc\n", "[ALERT] config : parsing [bad.cfg:2] : "),
            Arguments.of("listen a\n    bind 127.0.0.1:19990-19999\n    server s 127.0.0.1:7000\n" + timeouts
                    + "listen b\n    bind 127.0.0.1:19995\n    server s 127.0.0.1:7000\n" + timeouts,
                "bad.cfg:")
        );
    }

    @ParameterizedTest
    @MethodSource("badConfigs")
    void badConfigsExitOneWithPositionedMessages(String text, String expected, @TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("bad.cfg"), text);
        Result r = run("-c", "-f", f.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().replace(f.toString(), "bad.cfg")).contains(expected)
            .contains("[ALERT] config : Fatal errors found in configuration.");
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).doesNotContain("Exception").doesNotContain("\tat ");
    }

    // ---- bad input: echoed control characters, the size limit ---------------------------------------------

    @Test
    void controlCharactersFromTheFileAreEscapedWhenEchoed(@TempDir Path dir) throws Exception {
        // ESC sequences (clear screen, set the terminal title), BEL, DEL, a C1 CSI and a right-to-left override:
        // echoed raw they would act on the operator's terminal or hide text.
        Path f = Files.writeString(dir.resolve("esc.cfg"), "listen x\n    bind 127.0.0.1:19999\n"
            + "    frob\u001b[2J\u001b]0;pwned\u0007\u007f\u009b1m\u202enicate 3\n    server s 127.0.0.1:7000\n");
        Result r = run("-c", "-f", f.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("[ALERT] config : parsing [" + f + ":3] : unknown keyword"
            + " 'frob\\x1b[2J\\x1b]0;pwned\\x07\\x7f\\x9b1m\\u202enicate'");
        assertThat(r.err()).as("no raw control character reaches the terminal")
            .doesNotContain("\u001b").doesNotContain("\u0007").doesNotContain("\u007f").doesNotContain("\u009b")
            .doesNotContain("\u202e");
    }

    @Test
    void controlCharactersInAFileNameAreEscaped(@TempDir Path dir) {
        Path missing = dir.resolve("a\u001b[31mb.cfg");
        Result r = run("-c", "-f", missing.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("a\\x1b[31mb.cfg").doesNotContain("\u001b");
    }

    @Test
    void aFileOfExactlyTheSizeLimitIsReadAndOneByteMoreIsRefused(@TempDir Path dir) throws Exception {
        int limit = 4 * 1024 * 1024;
        String config = "listen x\n    bind 127.0.0.1:19999\n    server s 127.0.0.1:7000\n"
            + "    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n";
        StringBuilder text = new StringBuilder(limit).append(config);
        String comment = "# " + "c".repeat(97) + "\n";
        while (text.length() + comment.length() <= limit) {
            text.append(comment);
        }
        text.append("#".repeat(limit - text.length() - 1)).append('\n');
        assertThat(text.length()).isEqualTo(limit);
        Path f = Files.writeString(dir.resolve("limit.cfg"), text);
        Result ok = run("-c", "-f", f.toString());
        assertThat(ok.err()).isEmpty();
        assertThat(ok.code()).isZero();

        Files.writeString(f, "#", java.nio.file.StandardOpenOption.APPEND);
        Result refused = run("-c", "-f", f.toString());
        assertThat(refused.code()).isEqualTo(1);
        assertThat(refused.err()).contains("[ALERT] config : parsing [" + f + ":0] : configuration file '" + f
            + "' refused: it has 4,194,305 bytes, more than the 4,194,304 (4 MiB) a configuration file may have");
    }

    @Test
    void aDirectoryOfConfigFilesIsStillRead(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("a.cfg"), "listen x\n    bind 127.0.0.1:19999\n    server s 127.0.0.1:7000\n"
            + "    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n");
        Result r = run("-c", "-f", dir.toString());
        assertThat(r.err()).isEmpty();
        assertThat(r.code()).isZero();
    }
}
