package dev.planetary.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the real {@code haproxy -c} on our configs: the shipped static example must stay valid for both programs. Fails,
 * never skips, when haproxy is missing: CI installs it ({@code apt-get install -y haproxy}).
 */
class HaproxyCheckTest {

    private static final long TIMEOUT_SECONDS = 60;

    /** Exit status and merged stdout/stderr of {@code haproxy -c -f FILE...}. */
    private record Check(int exit, String output) {
    }

    /**
     * haproxy from PATH, else from where Debian installs it: /usr/sbin is not on an ordinary user's PATH
     * there, and CI may run as one. Plain "haproxy" when found nowhere, so starting it fails loudly.
     */
    private static String haproxyBinary() {
        List<String> dirs = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            dirs.addAll(List.of(path.split(File.pathSeparator)));
        }
        dirs.addAll(List.of("/usr/sbin", "/usr/local/sbin"));
        for (String dir : dirs) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, "haproxy");
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        return "haproxy";
    }

    private static Check haproxyCheck(List<Path> files) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(haproxyBinary(), "-c"));
        for (Path f : files) {
            command.add("-f");
            command.add(f.toAbsolutePath().toString());
        }
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            return fail("haproxy is not installed or not on PATH (" + e.getMessage() + "); install it with"
                    + " 'apt-get install -y haproxy' - CI does");
        }
        process.getOutputStream().close();
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            return fail("haproxy -c did not finish within " + TIMEOUT_SECONDS + " s");
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Check(process.exitValue(), output);
    }

    @Test
    void realHaproxyAcceptsTheShippedStaticConfigWithoutWarnings() throws Exception {
        // conf/planetary.cfg uses Planetary's own discovery keywords; the static example is the one for both programs
        Check check = haproxyCheck(List.of(RepoPaths.staticConfig()));

        assertThat(check.exit()).as("haproxy -c exit status; output:%n%s", check.output()).isZero();
        assertThat(check.output()).contains("Configuration file is valid").doesNotContain("[WARNING]")
                .doesNotContain("[ALERT]");
    }

    /** Features Planetary accepts are features HAProxy accepts: the same text passes both checkers. */
    @Test
    void realHaproxyAcceptsWhatPlanetaryAccepts(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("both.cfg"), """
                global
                    maxconn 1000
                    nbthread 2
                    hard-stop-after 10s
                defaults base
                    mode tcp
                    timeout connect 500us
                    timeout client 1m
                    timeout server 1m
                    timeout queue 5s
                    timeout client-fin 1s
                    timeout server-fin 1s
                    retries 2
                    option redispatch
                    default-server inter 3s rise 2 fall 3 check
                frontend fe from base
                    bind 127.0.0.1:18000-18009,[::1]:18000
                    bind ::1:18001
                    maxconn 100
                    default_backend app
                backend app from base
                    balance source
                    hash-type consistent
                    no option redispatch
                    server s1 127.0.0.1:7001 weight 256 maxconn 10
                    server s2 "127.0.0.1:7002" backup no-check
                    server s3 [::1]:7003 disabled weight 0
                listen "l1"
                    bind 127.0.0.1:18100
                    balance leastconn
                    server s1 127.0.0.1:7101
                """);
        ConfigResult planetary = ConfigParser.parse(List.of(file));
        assertThat(planetary.errors()).isEmpty();
        assertThat(planetary.warnings()).isEmpty();

        Check check = haproxyCheck(List.of(file));
        assertThat(check.exit()).as("haproxy -c exit status; output:%n%s", check.output()).isZero();
        assertThat(check.output()).doesNotContain("[WARNING]");
    }

    /** Both refuse a section continued in the next file, with the same words. */
    @Test
    void realHaproxyAlsoEndsSectionsAtTheEndOfAFile(@TempDir Path dir) throws Exception {
        Path a = Files.writeString(dir.resolve("a.cfg"), "backend app\n");
        Path b = Files.writeString(dir.resolve("b.cfg"), "    server s1 127.0.0.1:7001\n");

        Check check = haproxyCheck(List.of(a, b));

        assertThat(check.exit()).isNotZero();
        assertThat(check.output()).contains("unknown keyword 'server' out of section");
        assertThat(ConfigParser.parse(List.of(a, b)).errors()).singleElement().asString()
                .endsWith(" : unknown keyword 'server' out of section");
    }
}
