package dev.planetary.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.bench.harness.Figure;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CI's smoke run of the load harness: the shaded benchmarks jar, as a user runs it, in {@code --smoke} mode against
 * direct, haproxy and planetary. Asserts that the table holds every figure for every target (not how fast anything
 * is: CI machines are too noisy for that), so the harness keeps working as the proxy changes.
 */
class BenchSmokeIT {

    @TempDir
    Path dir;

    @Test
    void harnessSmokeProducesEveryFigureForEveryTarget() throws Exception {
        Path jar = Path.of(System.getProperty("planetary.bench.jar"));
        Path proxyJar = Path.of(System.getProperty("planetary.jar"));
        assertThat(jar).isRegularFile();
        assertThat(proxyJar).isRegularFile();
        Path out = dir.resolve("RESULTS.md");
        Path log = dir.resolve("harness.log");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-jar", jar.toString(), "harness", "--smoke",
                "--proxy-jar", proxyJar.toString(), "--out", out.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(150, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(done).as("harness finished in time\n%s", output).isTrue();
        assertThat(p.exitValue()).as("exit code\n%s", output).isZero();

        String results = Files.readString(out, StandardCharsets.UTF_8);
        List<String> rows = results.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| figure")).toList();
        assertThat(rows).as(results).hasSize(Figure.values().length);
        for (String row : rows) {
            String[] c = row.split("\\|");
            // | figure | unit | direct | haproxy | planetary | ratio | goal |
            boolean proxyOnly = c[3].trim().equals("n/a");
            if (!proxyOnly) {
                assertThat(c[3].trim()).as("direct in %s", row).matches("[0-9.,]+.*");
            }
            assertThat(c[4].trim()).as("haproxy in %s", row).matches("[0-9.,]+.*");
            assertThat(c[5].trim()).as("planetary in %s", row).matches("[0-9.,]+.*");
            assertThat(c[6].trim()).as("ratio in %s", row).matches("[0-9]+\\.[0-9]{2}");
        }
        assertThat(results).contains("Command:", "haproxy: HAProxy version", "kernel", "Generator check");
    }
}
