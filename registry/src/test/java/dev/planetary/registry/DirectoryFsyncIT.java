package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file's directory entry is durable only once its directory is fsync'd: the shaded jar, run under strace at its
 * first start, must fsync the data dir after creating {@code wal.log} and after renaming the generated token into
 * place (issue 11), and the data dir's parent after creating the data dir, each before it listens (so before anything
 * is acknowledged, and before the token is printed).
 */
class DirectoryFsyncIT {

    /** {@code TIME NAME(ARGS) = RESULT}: one call of one thread ({@code -ff} writes a file per thread, no interleaving). */
    private static final Pattern SYSCALL = Pattern.compile(
        "^(\\d+\\.\\d+)\\s+(openat|fsync|fdatasync|rename|renameat|renameat2|mkdir|mkdirat|bind)\\((.*)\\)\\s+=\\s+(-?\\d+)");

    private record Call(String tid, double time, String name, String args, String result, String line) {
    }

    @TempDir
    Path dir;

    @Test
    void theDataDirIsFsyncedAfterCreatingTheLogAndTheToken() throws Exception {
        Path strace = Path.of("/usr/bin/strace");
        Assumptions.assumeTrue(Files.isExecutable(strace), "strace is not installed");
        Path jar = Launcher.builtJar();
        String javaBin = Launcher.java();
        Path data = dir.resolve("parent").resolve("data");
        Files.createDirectories(data.getParent());
        Path trace = dir.resolve("trace.txt"); // -ff: trace.txt.TID, one per thread
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        // only the file-system calls are traced (seccomp filter): the JVM runs at nearly full speed
        ProcessBuilder pb = new ProcessBuilder(strace.toString(), "-ff", "-ttt", "--seccomp-bpf", "-qq", "-o",
            trace.toString(),
            "-e", "trace=openat,fsync,fdatasync,rename,renameat,renameat2,mkdir,mkdirat,bind", javaBin, "-Xmx128m",
            "-jar", jar.toString(), "--listen", "127.0.0.1:" + port, "--data-dir", data.toString())
            .redirectOutput(dir.resolve("out.txt").toFile()).redirectError(dir.resolve("err.txt").toFile());
        pb.environment().remove(Token.ENV); // the token is generated and stored at first start
        Process p = pb.start();
        try {
            HttpClient http = HttpClient.newHttpClient();
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                .failFast("the registry exited: " + Procs.read(dir.resolve("err.txt")), () -> !p.isAlive())
                .until(() -> http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/health"))
                    .build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
        } finally {
            stop(p);
        }
        List<Call> calls = new java.util.ArrayList<>();
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("trace.txt.")).toList()) {
                String tid = f.getFileName().toString().substring("trace.txt.".length());
                for (String l : Files.readAllLines(f)) {
                    Matcher m = SYSCALL.matcher(l);
                    if (m.find()) {
                        calls.add(new Call(tid, Double.parseDouble(m.group(1)), m.group(2), m.group(3), m.group(4), l));
                    }
                }
            }
        }
        calls.sort(java.util.Comparator.comparingDouble(Call::time));
        assertThat(calls).as("strace wrote its trace").isNotEmpty();
        String wal = data.resolve("wal.log").toString();
        String token = data.resolve("token").toString();
        int walCreated = indexOf(calls, c -> c.name().equals("openat") && c.args().contains("\"" + wal + "\"")
            && c.args().contains("O_CREAT"));
        int tokenPlaced = indexOf(calls, c -> c.name().startsWith("rename") && c.args().contains("\"" + token + "\""));
        int dataMade = indexOf(calls, c -> c.name().startsWith("mkdir") && c.args().contains("\"" + data + "\""));
        assertThat(walCreated).as("wal.log created").isNotNegative();
        assertThat(tokenPlaced).as("token renamed into place").isNotNegative();
        assertThat(dataMade).as("data dir created").isNotNegative();
        int listens = indexOf(calls, c -> c.name().equals("bind") && c.args().contains("htons(" + port + ")"));
        assertThat(listens).as("bound its port").isGreaterThan(Math.max(walCreated, Math.max(tokenPlaced, dataMade)));
        org.assertj.core.api.SoftAssertions.assertSoftly(soft -> {
            soft.assertThat(dirFsyncedBetween(calls, walCreated, listens, data.toString()))
                .as("data dir fsync'd after creating wal.log, before listening").isTrue();
            soft.assertThat(dirFsyncedBetween(calls, tokenPlaced, listens, data.toString()))
                .as("data dir fsync'd after the token, before listening").isTrue();
            soft.assertThat(dirFsyncedBetween(calls, dataMade, listens, data.getParent().toString()))
                .as("parent fsync'd after creating the data dir, before listening").isTrue();
        });
    }

    /**
     * strace ignores SIGTERM while its tracee runs, and a tracee whose tracer is killed is left running (with the
     * seccomp filter failing its traced calls): stop the registry itself (strace's child), then strace exits with it.
     */
    private static void stop(Process strace) throws InterruptedException {
        List<ProcessHandle> registry = strace.toHandle().children().toList();
        registry.forEach(ProcessHandle::destroy);
        if (!strace.waitFor(30, TimeUnit.SECONDS)) {
            registry.forEach(ProcessHandle::destroyForcibly);
            Procs.killNow(strace);
        }
    }

    private static int indexOf(List<Call> calls, java.util.function.Predicate<Call> p) {
        for (int i = 0; i < calls.size(); i++) {
            if (p.test(calls.get(i))) {
                return i;
            }
        }
        return -1;
    }

    /** Between calls {@code from} and {@code to}, the same thread opens {@code path} (the directory) and fsyncs it. */
    private static boolean dirFsyncedBetween(List<Call> calls, int from, int to, String path) {
        String tid = calls.get(from).tid();
        String fd = null;
        for (int i = from + 1; i < to; i++) {
            Call c = calls.get(i);
            if (!c.tid().equals(tid)) {
                continue;
            }
            if (c.name().equals("openat") && c.args().contains("\"" + path + "\"") && !c.result().startsWith("-")) {
                fd = c.result();
            } else if (fd != null && c.name().equals("fsync") && c.args().equals(fd)) {
                return true;
            }
        }
        return false;
    }
}
