package dev.planetary.bench.harness;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The traffic figures' load generators, C programs run as child processes for one fixed window each. {@code wrk}
 * (Debian's) drives request/response (HTTP keep-alive) and new connections ({@code Connection: close}) against the
 * HTTP responders; the harness's own {@code planetary-load} drives bulk into its sink and is the responders. Bulk
 * copies no byte in the generator (sendfile out of a memfd, {@code recv(MSG_TRUNC)} in the sink), where iperf3's
 * server copied every byte a proxy copies twice: direct could not reach 1.5x a proxy on one CPU. The responder
 * answers without HAProxy's HTTP engine, leaving the generator's CPU to wrk and the kernel.
 */
final class LoadTools {

    /** wrk's {@code done()} hook: one machine-readable line with the counts and latency percentiles (µs). */
    static final String WRK_SCRIPT = String.join("\n",
            "done = function(summary, latency, requests)",
            "  local e = summary.errors",
            "  io.write(string.format(\"WRK requests=%d duration_us=%d errors=%d p50=%d p99=%d p999=%d\\n\",",
            "    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,",
            "    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))",
            "end", "");

    private static final Pattern WRK_LINE = Pattern.compile(
            "WRK requests=(\\d+) duration_us=(\\d+) errors=(\\d+) p50=(\\d+) p99=(\\d+) p999=(\\d+)");
    private static final Pattern BULK_LINE = Pattern.compile("BULK bytes=(\\d+) nanos=(\\d+) sent=(\\d+)");

    /** Slack over a run's own duration before it is taken as hung and killed. */
    private static final long HANG_SLACK_SECONDS = 30;

    private final Options o;
    private final Path work;
    private final Path wrkScript;
    /** The built C tool, once a load or server needed it. */
    private Path tool;

    LoadTools(Options o, Path work) throws IOException {
        this.o = o;
        this.work = work;
        this.wrkScript = work.resolve("wrk-report.lua");
        Files.writeString(wrkScript, WRK_SCRIPT);
    }

    /** One run's result: operations (requests, or bytes for bulk) per second, and latencies in nanoseconds. */
    record Result(double perSecond, long count, long nanos, long errors, double p50, double p99, double p999) {
    }

    /** Whole seconds a tool runs for a wanted duration: both tools take whole seconds; 0 means skip. */
    static int seconds(double s) {
        return s < 0.5 ? 0 : (int) Math.max(1, Math.round(s));
    }

    /** Request/response over {@code conns} keep-alive connections, or new connections when {@code close}. */
    Result wrk(Pass pass, int port, int conns, boolean close, int seconds) throws IOException, InterruptedException {
        int threads = Math.min(conns, pass.generatorThreads());
        List<String> cmd = placed(pass);
        cmd.addAll(List.of(o.wrk, "-t", Integer.toString(threads), "-c", Integer.toString(conns),
                "-d", seconds + "s", "--timeout", "10s", "-s", wrkScript.toString()));
        if (close) {
            cmd.addAll(List.of("-H", "Connection: close"));
        }
        cmd.add("http://127.0.0.1:" + port + "/");
        String out = run(cmd, seconds);
        Result r = parseWrk(out);
        if (r == null) {
            throw new IllegalStateException("wrk gave no result: " + String.join(" ", cmd) + "\n" + out);
        }
        return r;
    }

    /** The result line of {@link #WRK_SCRIPT} in wrk's output, or null when there is none. */
    static Result parseWrk(String out) {
        Matcher m = WRK_LINE.matcher(out);
        if (!m.find()) {
            return null;
        }
        long requests = Long.parseLong(m.group(1));
        long micros = Math.max(1, Long.parseLong(m.group(2)));
        return new Result(requests * 1e6 / micros, requests, micros * 1000, Long.parseLong(m.group(3)),
                Long.parseLong(m.group(4)) * 1e3, Long.parseLong(m.group(5)) * 1e3, Long.parseLong(m.group(6)) * 1e3);
    }

    /** Bulk over {@code streams} connections into the sink behind {@code port}; per second = bytes/s. */
    Result bulk(Pass pass, int port, int streams, int seconds) throws IOException, InterruptedException {
        List<String> cmd = placed(pass);
        cmd.addAll(List.of(tool().toString(), "bulk", Integer.toString(port), Integer.toString(streams),
                Integer.toString(seconds)));
        String out = run(cmd, seconds);
        Result r = parseBulk(out);
        if (r == null) {
            throw new IllegalStateException("planetary-load bulk gave no result: " + String.join(" ", cmd) + "\n" + out);
        }
        return r;
    }

    /**
     * The sink's bytes over the sender's time (first byte sent to the sink's last count read), or null.
     *
     * @throws IllegalStateException when the sink got other than what was sent (a proxy lost or made up bytes)
     */
    static Result parseBulk(String out) {
        Matcher m = BULK_LINE.matcher(out);
        if (!m.find()) {
            return null;
        }
        long bytes = Long.parseLong(m.group(1));
        long sent = Long.parseLong(m.group(3));
        if (bytes != sent) {
            throw new IllegalStateException("bulk: the sink got " + bytes + " bytes of the " + sent + " sent");
        }
        long nanos = Math.max(1, Long.parseLong(m.group(2)));
        return new Result(bytes * 1e9 / nanos, bytes, nanos, 0, 0, 0, 0);
    }

    /** Bulk's backend on {@code port}: reads and drops, answers each connection's byte count; stop with destroy(). */
    Process sink(Pass pass, int port) throws IOException {
        return server(pass, "sink", List.of("sink", Integer.toString(port)));
    }

    /**
     * The HTTP responders on {@code ports} behind request/response and new connections: one process per generator
     * CPU, each with its own listener on every port; stop with destroy() (its workers stop with it).
     */
    Process responder(Pass pass, List<Integer> ports) throws IOException {
        List<String> args = new ArrayList<>(List.of("respond", Integer.toString(pass.generatorThreads())));
        ports.forEach(p -> args.add(Integer.toString(p)));
        return server(pass, "respond", args);
    }

    /** Starts the tool as a server and waits for its READY line (it exits with a message if it cannot listen). */
    private Process server(Pass pass, String name, List<String> args) throws IOException {
        List<String> cmd = placed(pass);
        cmd.add(tool().toString());
        cmd.addAll(args);
        Path err = work.resolve(name + "-" + pass.nbthread() + ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = r.readLine();
        if (!"READY".equals(line)) {
            p.destroyForcibly();
            String exit;
            try {
                exit = p.waitFor(5, TimeUnit.SECONDS) ? "exit " + p.exitValue() : "still running";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                exit = "interrupted";
            }
            throw new IllegalStateException("planetary-load " + name + " did not start (" + exit + "): "
                    + Files.readString(err).strip());
        }
        return p;
    }

    private Path tool() throws IOException {
        if (tool == null) {
            try {
                tool = build(o.cc, work);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while building planetary-load", e);
            }
        }
        return tool;
    }

    /**
     * Builds the harness's C tool ({@code src/main/c/planetary-load.c}, carried in this jar) into {@code dir} with
     * {@code cc}: a tool that neither copies bulk's bytes (sendfile out, MSG_TRUNC in) nor parses more HTTP than a
     * fixed answer needs, so that the generator costs less than the proxies it measures.
     */
    static Path build(String cc, Path dir) throws IOException, InterruptedException {
        Path src = dir.resolve("planetary-load.c");
        try (InputStream in = LoadTools.class.getResourceAsStream("/bench-c/planetary-load.c")) {
            if (in == null) {
                throw new IOException("planetary-load.c is missing from the benchmarks jar");
            }
            Files.copy(in, src, StandardCopyOption.REPLACE_EXISTING);
        }
        Path bin = dir.resolve("planetary-load");
        Path log = dir.resolve("cc.log");
        Process p = new ProcessBuilder(cc, "-O2", "-Wall", "-o", bin.toString(), src.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(cc + " did not build " + src + " within 120 s");
            }
            if (p.exitValue() != 0) {
                throw new IOException(cc + " could not build " + src + ":\n" + Files.readString(log).strip());
            }
            return bin;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** taskset in front of a command when the pass pins the generator. */
    private static List<String> placed(Pass pass) {
        List<String> cmd = new ArrayList<>();
        if (pass.pinned()) {
            cmd.addAll(List.of("taskset", "-c", pass.generatorCpus()));
        }
        return cmd;
    }

    /** Runs a tool to its end (its own duration plus slack), returning what it printed. */
    private String run(List<String> cmd, int seconds) throws IOException, InterruptedException {
        Path out = work.resolve("tool-" + System.nanoTime() + ".out");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().put("TMPDIR", work.toString()); // whatever a tool writes there goes with the run's directory
        Process p = pb.start();
        try {
            if (!p.waitFor(seconds + HANG_SLACK_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw new IllegalStateException(String.format(Locale.ROOT, "%s did not end within %d s",
                        cmd, seconds + HANG_SLACK_SECONDS));
            }
            return Files.readString(out, StandardCharsets.UTF_8);
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
