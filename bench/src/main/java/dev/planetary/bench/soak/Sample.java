package dev.planetary.bench.soak;

import dev.planetary.bench.harness.ProcFs;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One row of the soak's table, taken every sample interval: the proxy's descriptors, resident memory and direct
 * (native) memory, Genesis' descriptors and resident memory, and what the load had done by then.
 *
 * <p>Direct memory is read from the JVM's native memory tracking ({@code -XX:NativeMemoryTracking=summary}, asked
 * with {@code jcmd PID VM.native_memory summary}): Netty's pooled buffers are allocated with
 * {@code Unsafe.allocateMemory} or {@code ByteBuffer.allocateDirect}, which NMT files under "Other". It costs one
 * short-lived jcmd process per sample (about 0.3 s of CPU every 10 s) and tracking costs the proxy a few percent at
 * most; the proxy's own counter is not reachable from outside its process until the stats socket's {@code show info}
 * exists.
 */
record Sample(double seconds, long proxyFds, long proxyRssKb, long proxyDirectKb, long proxyNmtKb, long genesisFds,
              long genesisRssKb, int vms, long ops, long bytes, long cuts, long failures, long proxyErrors) {

    static final String CSV_HEADER = "seconds,proxy_fds,proxy_rss_kb,proxy_direct_kb,proxy_nmt_committed_kb,"
        + "genesis_fds,genesis_rss_kb,vms,ops,bytes_verified,expected_cuts,failures,proxy_log_errors";

    private static final Pattern OTHER = Pattern.compile("Other \\(reserved=(\\d+)KB, committed=(\\d+)KB\\)");
    private static final Pattern TOTAL = Pattern.compile("Total: reserved=(\\d+)KB, committed=(\\d+)KB");

    String csv() {
        return String.format(java.util.Locale.ROOT, "%.1f,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d", seconds, proxyFds,
            proxyRssKb, proxyDirectKb, proxyNmtKb, genesisFds, genesisRssKb, vms, ops, bytes, cuts, failures,
            proxyErrors);
    }

    /** Open descriptors of a process, or -1. */
    static long fds(long pid) {
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return s.count();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    static long rssKb(long pid) {
        long b = ProcFs.rssBytes(pid);
        return b < 0 ? -1 : b / 1024;
    }

    /**
     * {"Other" committed KB, total committed KB} from the JVM's native memory tracking, or {-1, -1} when jcmd did not
     * answer within its time.
     */
    static long[] nativeMemory(String jcmd, long pid, Path scratch) {
        Path out = scratch.resolve("jcmd.out");
        try {
            Process p = new ProcessBuilder(jcmd, Long.toString(pid), "VM.native_memory", "summary")
                .redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                return new long[] {-1, -1};
            }
            return parse(Files.readString(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new long[] {-1, -1};
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new long[] {-1, -1};
        } finally {
            try {
                Files.deleteIfExists(out);
            } catch (IOException e) {
                // the scratch directory is removed at the end anyway
            }
        }
    }

    static long[] parse(String nmt) {
        Matcher o = OTHER.matcher(nmt);
        Matcher t = TOTAL.matcher(nmt);
        long other = o.find() ? Long.parseLong(o.group(2)) : -1;
        long total = t.find() ? Long.parseLong(t.group(2)) : -1;
        return new long[] {other, total};
    }

    /** Lines of a log that are errors: ERROR level, an exception, or a Netty LEAK report. */
    static long errorLines(Path log, List<String> keep) {
        long n = 0;
        try (Stream<String> lines = Files.lines(log, StandardCharsets.UTF_8)) {
            for (String l : (Iterable<String>) lines::iterator) {
                if (l.contains(" ERROR ") || l.contains("LEAK:") || l.contains("Exception")) {
                    n++;
                    if (keep != null && keep.size() < 10) {
                        keep.add(l.length() > 300 ? l.substring(0, 300) + "..." : l);
                    }
                }
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            return n;
        }
        return n;
    }
}
