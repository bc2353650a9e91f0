package dev.planetary.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.bench.harness.Figure;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * CI's smoke run of the load harness: the shaded benchmarks jar, as a user runs it, in {@code --smoke} mode against
 * direct, haproxy and planetary, at nbthread 1 and 2, from the clone's root with no {@code --out}. Asserts that the
 * table holds every figure for every target in both passes, with the generator-check column (not how fast anything
 * is: CI machines are too noisy for that); that the committed bench/RESULTS.md is left as it was; and that the run
 * leaves no temporary directory behind.
 */
class BenchSmokeIT {

    /** Rows measured with rates the generator check applies to. */
    private static final List<String> RATE_ROWS = List.of("bulk throughput, 1 connection",
            "bulk throughput, 8 connections", "request/response, 50 connections", "new connections |",
            "new connections, cold");

    @Test
    void harnessSmokeProducesEveryFigureForEveryTargetInBothPasses() throws Exception {
        Path jar = Path.of(System.getProperty("planetary.bench.jar"));
        Path proxyJar = Path.of(System.getProperty("planetary.jar"));
        assertThat(jar).isRegularFile();
        assertThat(proxyJar).isRegularFile();
        Path root = proxyJar.toAbsolutePath().normalize().getParent().getParent().getParent();
        Path committed = root.resolve("bench/RESULTS.md");
        Path out = root.resolve("bench/target/RESULTS-smoke.md");
        Files.deleteIfExists(out);
        String committedBefore = sha256(committed);
        // the harness's own temporary directory: it must be empty again at the end (a private one, so that other
        // programs using /tmp at the same time cannot make this check pass or fail)
        Path tmp = Files.createTempDirectory("bench-smoke-tmp");
        Path log = Files.createTempFile("bench-smoke", ".log");
        String output;
        List<String> leftBehind;
        Process p;
        boolean done;
        try {
            String java = ProcessHandle.current().info().command().orElse("java");
            ProcessBuilder pb = new ProcessBuilder(java, "-Djava.io.tmpdir=" + tmp, "-jar", jar.toString(), "harness",
                    "--smoke", "--nbthread", "1,2", "--proxy-jar", proxyJar.toString())
                    .directory(root.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("TMPDIR", tmp.toString());
            p = pb.start();
            done = p.waitFor(300, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            output = Files.readString(log, StandardCharsets.UTF_8);
            try (Stream<Path> left = Files.list(tmp)) {
                leftBehind = left.map(x -> x.getFileName().toString()).toList();
            }
        } finally {
            Files.deleteIfExists(log);
            deleteTree(tmp);
        }
        assertThat(done).as("harness finished in time\n%s", output).isTrue();
        assertThat(p.exitValue()).as("exit code\n%s", output).isZero();

        assertThat(sha256(committed)).as("the committed results are untouched by a smoke run").isEqualTo(committedBefore);
        assertThat(output).contains("results written to " + out.toAbsolutePath());
        assertThat(leftBehind).as("left in the harness's temporary directory").isEmpty();

        String results = Files.readString(out, StandardCharsets.UTF_8);
        List<String> rows = results.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| figure")).toList();
        List<String> table = rows.stream().filter(l -> l.split("\\|").length >= 10).toList();
        String header = results.lines().filter(l -> l.startsWith("| figure | unit | threads")).findFirst().orElse("");
        assertThat(header).as(results).endsWith("| direct/fastest proxy |");
        int figures = Figure.values().length - 1; // all but the log-lines row, which needs --syslog-sink
        assertThat(table).as(results).hasSize(figures * 2);
        for (String pass : List.of("1, unpinned", "2, unpinned")) {
            assertThat(table.stream().filter(r -> r.split("\\|")[3].trim().equals(pass)))
                    .as("rows of pass %s\n%s", pass, results).hasSize(figures);
        }
        for (String row : table) {
            String[] c = row.split("\\|");
            // | figure | unit | threads | direct | haproxy | planetary | ratio | goal | direct/fastest proxy |
            boolean proxyOnly = c[4].trim().equals("n/a");
            if (!proxyOnly) {
                assertThat(c[4].trim()).as("direct in %s", row).matches("[0-9.,]+.*");
            }
            assertThat(c[5].trim()).as("haproxy in %s", row).matches("[0-9.,]+.*");
            assertThat(c[6].trim()).as("planetary in %s", row).matches("[0-9.,]+.*");
            assertThat(c[7].trim()).as("ratio in %s", row).matches("[0-9]+\\.[0-9]{2}");
            if (RATE_ROWS.stream().anyMatch(row::contains)) {
                assertThat(c[9].trim()).as("generator check in %s", row).matches("[0-9]+\\.[0-9]{2}( \\([!gm]\\))*");
            } else {
                assertThat(c[9].trim()).as("no generator check in %s", row).isEmpty();
            }
        }
        assertThat(results).contains("Command:", "haproxy: HAProxy version", "kernel", "Generator check",
                "(!) direct is less than 1.5x", "What bounded each rate figure", "wrk", "planetary-load");
    }

    @Test
    void aHarnessStoppedBySigtermStopsWhatItStartedAndLeavesNoDirectory() throws Exception {
        Path jar = Path.of(System.getProperty("planetary.bench.jar"));
        Path proxyJar = Path.of(System.getProperty("planetary.jar"));
        Path root = proxyJar.toAbsolutePath().normalize().getParent().getParent().getParent();
        Path tmp = Files.createTempDirectory("bench-sigterm-tmp");
        Path log = Files.createTempFile("bench-sigterm", ".log");
        Process p = null;
        List<ProcessHandle> started = List.of();
        try {
            String java = ProcessHandle.current().info().command().orElse("java");
            Path out = tmp.resolve("results.md"); // never written: the run is stopped first
            p = new ProcessBuilder(java, "-Djava.io.tmpdir=" + tmp, "-jar", jar.toString(), "harness", "--smoke",
                    "--nbthread", "1", "--only", "traffic", "--targets", "planetary", "--proxy-jar",
                    proxyJar.toString(), "--out", out.toString())
                    .directory(root.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            // stopped in its first figure, once its echo backends, HTTP responders and bulk sink run (the proxy
            // under test comes and goes between figures: it is counted if it runs then, not waited for)
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            String before = "";
            while (System.nanoTime() - end < 0 && p.isAlive()) {
                before = Files.readString(log, StandardCharsets.UTF_8);
                if (before.contains("rep 1/1") && p.descendants().count() >= 3) {
                    break;
                }
                Thread.sleep(50);
            }
            started = p.descendants().toList();
            assertThat(p.isAlive()).as("the harness still runs\n%s", before).isTrue();
            assertThat(started.size()).as("backends, responders and sink running\n%s", before)
                    .isGreaterThanOrEqualTo(3);

            p.destroy(); // SIGTERM, as kill or a terminal's Ctrl-C
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("harness exits on SIGTERM").isTrue();
            long gone = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (started.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() - gone < 0) {
                Thread.sleep(20); // a killed child is reaped by init once the harness has exited
            }
            assertThat(started.stream().filter(ProcessHandle::isAlive).map(h -> h.info().commandLine().orElse("?")))
                    .as("processes the harness started, still running").isEmpty();
            // also one it started after the snapshot above (its run goes on while it shuts down): every process of
            // this run names the run's directory (configs, java.io.tmpdir)
            String runDir = tmp.toString();
            long orphans = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (ProcessHandle.allProcesses().anyMatch(h -> h.info().commandLine().orElse("").contains(runDir))
                    && System.nanoTime() - orphans < 0) {
                Thread.sleep(20);
            }
            assertThat(ProcessHandle.allProcesses().map(h -> h.info().commandLine().orElse(""))
                    .filter(c -> c.contains(runDir))).as("processes of the stopped run, still running").isEmpty();
            try (Stream<Path> left = Files.list(tmp)) {
                assertThat(left.map(x -> x.getFileName().toString()).toList())
                        .as("left in the harness's temporary directory").isEmpty();
            }
        } finally { // whatever the outcome, nothing this test started (directly or not) keeps running
            if (p != null) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
            started.forEach(ProcessHandle::destroyForcibly);
            Files.deleteIfExists(log);
            deleteTree(tmp);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static String sha256(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }
}
