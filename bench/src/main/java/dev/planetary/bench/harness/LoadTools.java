package dev.planetary.bench.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The traffic figures' load generators: Debian's C tools, run as child processes for one fixed window each.
 * {@code wrk} drives request/response (HTTP keep-alive) and new connections ({@code Connection: close}) against
 * the HTTP responders; {@code iperf3 -Z} (sendfile: the sender copies nothing) drives bulk into an iperf3 server.
 * Both cost the generator's CPU far less per operation than a Netty client did (the Netty client made the same
 * extra system calls per connection as a Netty proxy, so direct could not be faster than a proxy).
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
    private static final Pattern NUMBER = Pattern.compile("-?[0-9.]+(?:[eE][-+]?[0-9]+)?");

    /**
     * Tries of an iperf3 test the server refuses as busy: through a proxy the server may see the end of the previous
     * test a little after its client has exited. Spaced {@link #BUSY_PAUSE_MS} apart (about 5 s in all).
     */
    private static final int BUSY_TRIES = 20;
    private static final long BUSY_PAUSE_MS = 250;

    /** Slack over a run's own duration before it is taken as hung and killed. */
    private static final long HANG_SLACK_SECONDS = 30;

    private final Options o;
    private final Path work;
    private final Path wrkScript;

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

    /** Bulk over {@code streams} connections into the iperf3 server behind {@code port}; per second = bytes/s. */
    Result iperf3(Pass pass, int port, int streams, int seconds) throws IOException, InterruptedException {
        List<String> cmd = placed(pass);
        cmd.addAll(List.of(o.iperf3, "-c", "127.0.0.1", "-p", Integer.toString(port), "-t", Integer.toString(seconds),
                "-P", Integer.toString(streams), "-Z", "-J", "--connect-timeout", "10000"));
        String out = run(cmd, seconds);
        for (int i = 1; i < BUSY_TRIES && out.contains("server is busy"); i++) {
            Thread.sleep(BUSY_PAUSE_MS);
            out = run(cmd, seconds);
        }
        Result r = parseIperf3(out);
        if (r == null) {
            throw new IllegalStateException("iperf3 gave no result: " + String.join(" ", cmd) + "\n"
                    + jsonField(out, 0, "error"));
        }
        return r;
    }

    /** Bytes received per second over the whole test from {@code iperf3 -J} output, or null without a result. */
    static Result parseIperf3(String json) {
        int sum = json.indexOf("\"sum_received\"");
        if (sum < 0) {
            return null;
        }
        double bytes = Double.parseDouble(jsonField(json, sum, "bytes"));
        double secs = Double.parseDouble(jsonField(json, sum, "seconds"));
        return new Result(bytes / secs, (long) bytes, (long) (secs * 1e9), 0, 0, 0, 0);
    }

    /** The iperf3 server the bulk figures go to; stopped with {@link Process#destroy()}. */
    Process iperf3Server(Pass pass, int port) throws IOException {
        List<String> cmd = placed(pass);
        cmd.addAll(List.of(o.iperf3, "-s", "-B", "127.0.0.1", "-p", Integer.toString(port)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(work.resolve("iperf3-server-" + port + ".log").toFile());
        pb.environment().put("TMPDIR", work.toString());
        return pb.start();
    }

    /** The value after {@code "key":} at or after {@code from} (iperf3's JSON: a flat lookup is enough). */
    static String jsonField(String json, int from, String key) {
        int k = json.indexOf("\"" + key + "\"", from);
        if (k < 0) {
            return "";
        }
        int colon = json.indexOf(':', k);
        String rest = json.substring(colon + 1).trim();
        if (rest.startsWith("\"")) {
            return rest.substring(1, rest.indexOf('"', 1));
        }
        Matcher m = NUMBER.matcher(rest);
        return m.lookingAt() ? m.group() : "";
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
        pb.environment().put("TMPDIR", work.toString()); // iperf3 makes (and unlinks) its sendfile buffer file there
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
