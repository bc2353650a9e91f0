package dev.planetary.bench.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A proxy under test in its own process, started from a haproxy-syntax config file: {@code haproxy -db -f CFG} or
 * {@code java OPTS -jar planetary-proxy.jar -f CFG}, optionally pinned with {@code taskset}. Output goes to files.
 */
public final class TargetProcess implements AutoCloseable {

    private final String label;
    private final Process process;
    private final Path log;

    private TargetProcess(String label, Process process, Path log) {
        this.label = label;
        this.process = process;
        this.log = log;
    }

    /** The command that runs {@code target} on {@code config}. */
    static List<String> command(TargetSpec spec, Path config, Options o, String cpus) {
        Target target = spec.kind();
        List<String> cmd = new ArrayList<>();
        if (cpus != null) {
            cmd.addAll(List.of("taskset", "-c", cpus));
        }
        switch (target) {
            case HAPROXY:
                cmd.addAll(List.of(o.haproxy, "-db", "-f", config.toString()));
                break;
            case PLANETARY:
                cmd.add(spec.javaOr(o.javaCmd));
                cmd.addAll(List.of(spec.optsOr(o.planetaryOpts).trim().split("\\s+")));
                cmd.addAll(List.of("-jar", spec.jarOr(o.proxyJar).toString(), "-f", config.toString()));
                break;
            default:
                throw new IllegalArgumentException("no process for " + target);
        }
        cmd.removeIf(String::isEmpty);
        return cmd;
    }

    /** Starts {@code target}, pinned to the proxy CPUs when {@code --pin} is given (the JMH macro benchmarks). */
    public static TargetProcess start(Target target, Path config, Options o, Path logDir) {
        return start(TargetSpec.of(target), config, o, logDir, o.pin ? o.proxyCpus : null);
    }

    /** Starts a target on the CPUs of list {@code cpus} (taskset), or anywhere when it is null. */
    public static TargetProcess start(TargetSpec spec, Path config, Options o, Path logDir, String cpus) {
        Path log = logDir.resolve(spec.label() + "-" + System.nanoTime() + ".log");
        try {
            Process p = new ProcessBuilder(command(spec, spec.configFor(config, logDir), o, cpus))
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            return new TargetProcess(spec.label(), p, log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + spec.label(), e);
        }
    }

    public long pid() { return process.pid(); }
    public boolean alive() { return process.isAlive(); }
    public String label() { return label; }

    public String output() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    /**
     * Waits until every given port accepts a connection, in order; fails if the process exits first.
     *
     * @return nanoseconds from {@code t0} to the moment the last port accepted
     */
    public long awaitAccepting(int[] ports, long t0, long timeoutMs) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        for (int port : ports) {
            while (!Ports.accepts(port)) {
                if (!process.isAlive()) {
                    throw new IllegalStateException(label + " exited with " + process.exitValue()
                            + " before port " + port + " accepted:\n" + output());
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(label + ": port " + port + " not accepting after "
                            + timeoutMs + " ms:\n" + output());
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
        }
        return System.nanoTime() - t0;
    }

    @Override
    public void close() {
        process.destroy(); // SIGTERM: both stop at once when no connection is left
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
