package dev.planetary.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Running real programs from tests. Output goes to files (never to pipes nobody reads, which fill up and block
 * the child), every wait is bounded, and a process is only ever stopped through its own {@link Process} handle.
 */
public final class Procs {

    private static final AtomicInteger SEQ = new AtomicInteger();

    private Procs() {
    }

    /** A finished run: exit code, stdout bytes, stderr text, wall time. */
    public record Result(int code, byte[] stdout, String stderr, long millis) {
        public String out() {
            return new String(stdout, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return "exit " + code + " after " + millis + " ms\n--- stdout:\n" + out() + "\n--- stderr:\n" + stderr;
        }
    }

    /** A started process whose stdout and stderr go to files in a directory. */
    public record Running(Process process, Path stdoutFile, Path stderrFile) {
        public String stdout() {
            return read(stdoutFile);
        }

        public String stderr() {
            return read(stderrFile);
        }

        public String output() {
            return "--- stdout:\n" + stdout() + "\n--- stderr:\n" + stderr();
        }

        public long pid() {
            return process.pid();
        }
    }

    /** The signals a test sends to the processes it starts, and that a parent may have left ignored. */
    private static final String SIGNALS_SENT = "HUP,INT,TERM,USR1,USR2";

    /**
     * {@code cmd} run with the signals tests send reset to their defaults first. A process inherits ignored signals
     * (SIGHUP under nohup, SIGINT in a background job of a shell), and the JVM keeps an inherited ignored SIGHUP,
     * SIGINT or SIGTERM ignored: a test that signals a process must not depend on how the build itself was started.
     * {@code env} execs, so the PID is the command's.
     */
    public static List<String> withDefaultSignals(List<String> cmd) {
        List<String> all = new java.util.ArrayList<>(cmd.size() + 2);
        all.add("env");
        all.add("--default-signal=" + SIGNALS_SENT);
        all.addAll(cmd);
        return all;
    }

    /** Starts {@code cmd}; stdin from {@code stdin} (or nothing when null), output to files in {@code logDir}. */
    public static Running start(Path logDir, Path stdin, List<String> cmd) {
        return start(logDir, stdin, cmd, java.util.Map.of());
    }

    /**
     * As {@link #start(Path, Path, List)}, with the environment changed: each entry of {@code env} set, or removed
     * from the inherited environment when its value is null.
     */
    public static Running start(Path logDir, Path stdin, List<String> cmd, java.util.Map<String, String> env) {
        int n = SEQ.incrementAndGet();
        Path out = logDir.resolve("proc-" + n + ".out");
        Path err = logDir.resolve("proc-" + n + ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile());
        env.forEach((k, v) -> {
            if (v == null) {
                pb.environment().remove(k);
            } else {
                pb.environment().put(k, v);
            }
        });
        if (stdin != null) {
            pb.redirectInput(stdin.toFile());
        } else {
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        }
        try {
            return new Running(pb.start(), out, err);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + cmd, e);
        }
    }

    /** Runs {@code cmd} to completion within {@code timeout}; kills it and fails the test when it takes longer. */
    public static Result run(Path logDir, Path stdin, Duration timeout, List<String> cmd) throws InterruptedException {
        long t0 = System.nanoTime();
        Running r = start(logDir, stdin, cmd);
        try {
            if (!r.process().waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("still running after " + timeout + ": " + cmd + "\n" + r.output());
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            try {
                return new Result(r.process().exitValue(), Files.readAllBytes(r.stdoutFile()), r.stderr(), ms);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        } finally {
            kill(r.process());
        }
    }

    /** SIGTERM, up to 5 s to go, then SIGKILL; only this process (by its handle), never by name. */
    public static void kill(Process p) {
        if (p == null || !p.isAlive()) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** SIGKILL at once (cleanup after a test whose own assertions already did the graceful part). */
    public static void killNow(Process p) {
        if (p == null || !p.isAlive()) {
            return;
        }
        p.destroyForcibly();
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e + ")";
        }
    }
}
