package dev.planetary.registry.client.haproxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.registry.client.testing.TestGenesis;
import dev.planetary.testkit.Procs;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line: the printed config for Genesis' default plan passes the real `haproxy -c`; bad options exit 2. */
class SyncHaproxyMainTest {

    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = SyncHaproxyMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void printsAConfigForTheDefaultPlanThatHaproxyAccepts() throws Exception {
        try (TestGenesis g = TestGenesis.start(dir.resolve("g"), TestGenesis.settings(Duration.ofSeconds(1)))) {
            Path pins = dir.resolve("pinned.map");
            Run r = run("--genesis", g.uri().toString(), "--socket", "/run/haproxy/admin.sock", "--print-config",
                "--pinned-map", pins.toString());
            assertThat(r.code()).as(r.err()).isZero();
            String cfg = r.out();
            assertThat(cfg).contains("bind 127.0.0.1:10000-19999", "bind 127.0.0.1:20000-29999",
                "bind 127.0.0.1:30000-31999", "bind 127.0.0.1:32000", "stats socket /run/haproxy/admin.sock mode 660 "
                + "level admin", "bind 127.0.0.1:8404", "add `stats auth USER:PASSWORD` before exposing it",
                "map(" + pins + ")", "dst_port 10000 }");
            assertThat(cfg).doesNotContainPattern("(?m)^\\s*stats auth");
            String pf = cfg.substring(cfg.indexOf("\nbackend pfsshfs"));
            assertThat(pf.substring(0, pf.indexOf("\n\n"))).contains("balance source", "hash-type consistent");
            String pc = cfg.substring(cfg.indexOf("\nbackend pcpu"));
            assertThat(pc.substring(0, pc.indexOf("\n\n"))).contains("balance leastconn");
            assertThat(pins).exists();
            assertThat(Files.size(pins)).isZero();

            Path file = dir.resolve("haproxy.cfg");
            Files.writeString(file, cfg);
            Procs.Result check = Procs.run(dir, null, Duration.ofSeconds(60),
                List.of(Companion.HAPROXY, "-c", "-f", file.toString()));
            assertThat(check.code()).as(check.toString()).isZero();
            assertThat(check.stderr() + check.out()).contains("Configuration file is valid")
                .doesNotContain("WARNING").doesNotContain("ALERT");
        }
    }

    @Test
    void badOptionsExit2WithTheOptionNamed() {
        Run r = run("--genesis", "http://127.0.0.1:1", "--socket", "/tmp/x.sock", "--map", "pcpu");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("option --map: 'pcpu' must be BACKEND=SERVICE");
        r = run("--genesis", "http://127.0.0.1:1", "--socket", "/tmp/x.sock", "--map", "a=pcpu", "--map", "a=ssh");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("backend 'a' given twice");
        r = run("--socket", "/tmp/x.sock");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--genesis");
        assertThat(SyncHaproxyMain.backends(List.of())).containsEntry("pfsshfs", "ssh").containsEntry("pcpu", "pcpu");
    }
}
