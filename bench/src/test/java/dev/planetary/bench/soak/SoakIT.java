package dev.planetary.bench.soak;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * CI's soak: the shaded bench jar's {@code soak} as a user runs it (Genesis and the proxy jars as child processes),
 * 2 minutes by default ({@code -Dplanetary.soak.minutes=N} for more). Asserts the verdict (exit 0), that every kind
 * of load, churn and health-check flap actually happened, a sample every 10 s, and nothing left in its temporary
 * directory. A second, short run corrupts one echoed byte on purpose and must fail: the soak's checks can fail.
 *
 * <p>A test in {@code mvn -B verify} rather than a step of its own in {@code .ci/run}: {@code .ci/run} only installs
 * programs and runs the README's test command, so a developer's {@code mvn verify} runs exactly what CI runs, on jars
 * the same reactor just built. Both runs together take about 3.5 minutes on this 2-core machine, a suite of about
 * 4 minutes before, far below its 30-minute budget.
 */
class SoakIT {

    private static final double MINUTES = Double.parseDouble(System.getProperty("planetary.soak.minutes", "2"));

    @Test
    void soakPassesWithEveryKindOfLoadAndChurn() throws Exception {
        Path out = target().resolve("soak-ci.csv");
        Run r = soak(out, "--minutes", String.valueOf(MINUTES));
        String md = Files.readString(out.resolveSibling("soak-ci.md"), StandardCharsets.UTF_8);
        assertThat(r.code).as("exit code\n%s", r.output).isZero();
        assertThat(md).startsWith("## Soak PASSED");
        List<String> rows = Files.readAllLines(out);
        assertThat(rows.get(0)).isEqualTo(Sample.CSV_HEADER);
        assertThat(rows).as("a sample every 10 s").hasSizeGreaterThanOrEqualTo(1 + (int) (MINUTES * 6) - 1);
        for (String load : List.of("bulk", "request/response", "new connections", "idle")) {
            String row = md.lines().filter(l -> l.startsWith("| " + load + " |")).findFirst().orElseThrow();
            String[] cells = row.split("\\|");
            assertThat(Long.parseLong(cells[3].trim().replace(",", ""))).as(load + " operations").isPositive();
            assertThat(cells[7].trim()).as(load + " failures").isEqualTo("0");
        }
        assertThat(md).containsPattern("Churn: [1-9]\\d* VMs registered, [1-9]\\d* left, [1-9]\\d* expired; "
            + "[1-9]\\d* leaves and expiries confirmed");
        assertThat(md).containsPattern("the proxy logged [1-9]\\d* static and [1-9]\\d* swarm servers DOWN");
        assertThat(r.leftBehind).as("left in the soak's temporary directory").isEmpty();
    }

    @Test
    void oneCorruptedByteFailsTheSoak() throws Exception {
        Path out = target().resolve("soak-corrupt.csv");
        Run r = soak(out, "--minutes", "0.5", "--sample-seconds", "5", "--inject-corruption-at", "10");
        String md = Files.readString(out.resolveSibling("soak-corrupt.md"), StandardCharsets.UTF_8);
        assertThat(r.code).as("exit code\n%s", r.output).isEqualTo(1);
        assertThat(md).startsWith("## Soak FAILED").contains("differ");
        assertThat(r.leftBehind).isEmpty();
    }

    @Test
    void theLauncherRunsTheSoakFromTheBuiltJars() throws Exception {
        Path jar = Path.of(System.getProperty("planetary.bench.jar"));
        for (String module : List.of("bench", "registry-client")) {
            assertThat(Launcher.newerThan(jar, module))
                .as("bin/planetary would rebuild the jar (run the build first, not from inside a test)").isEmpty();
        }
        Path dir = Files.createTempDirectory("soak-launcher");
        try {
            Procs.Result r = Procs.run(dir, null, Duration.ofSeconds(60),
                List.of(Launcher.script().toString(), "soak", "--help"));
            assertThat(r.code()).as("%s", r).isZero();
            assertThat(r.out()).contains("usage: planetary soak --minutes N [--out FILE]");
            Procs.Result bad = Procs.run(dir, null, Duration.ofSeconds(60),
                List.of(Launcher.script().toString(), "soak"));
            assertThat(bad.code()).as("%s", bad).isEqualTo(2);
            assertThat(bad.stderr()).contains("planetary soak: --minutes N is required");
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(x);
                }
            }
        }
    }

    private record Run(int code, String output, List<String> leftBehind) {
    }

    private static Path target() {
        return Path.of(System.getProperty("planetary.bench.jar")).toAbsolutePath().getParent();
    }

    private static Run soak(Path out, String... args) throws IOException, InterruptedException {
        Path jar = Path.of(System.getProperty("planetary.bench.jar"));
        Path proxyJar = Path.of(System.getProperty("planetary.jar"));
        Path registryJar = Path.of(System.getProperty("planetary.registry.jar"));
        assertThat(jar).isRegularFile();
        assertThat(proxyJar).isRegularFile();
        assertThat(registryJar).isRegularFile();
        Files.deleteIfExists(out);
        Path tmp = Files.createTempDirectory("soak-it-tmp");
        Path log = Files.createTempFile("soak-it", ".log");
        try {
            String java = ProcessHandle.current().info().command().orElse("java");
            List<String> cmd = new java.util.ArrayList<>(List.of(java, "-Xmx512m", "-Djava.io.tmpdir=" + tmp, "-jar",
                jar.toString(), "soak", "--out", out.toString(), "--proxy-jar", proxyJar.toString(),
                "--registry-jar", registryJar.toString(), "--command", "SoakIT"));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            long limit = (long) (MINUTES * 60) + 240;
            if (!p.waitFor(limit, TimeUnit.SECONDS)) {
                p.destroy();
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
                throw new AssertionError("soak still running after " + limit + " s:\n" + Files.readString(log));
            }
            List<String> left;
            try (Stream<Path> s = Files.list(tmp)) {
                left = s.map(x -> x.getFileName().toString()).toList();
            }
            return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8), left);
        } finally {
            Files.deleteIfExists(log);
            try (Stream<Path> s = Files.walk(tmp)) {
                for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(x);
                }
            }
        }
    }
}
