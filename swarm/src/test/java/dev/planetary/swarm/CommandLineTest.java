package dev.planetary.swarm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.registry.client.CommandLines;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** up's and swarm's refusals, which happen before anything is started: exit codes and messages, nothing touched. */
class CommandLineTest {

    @TempDir
    Path dir;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int up(String... args) {
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        return CommandLines.run(new UpMain(o, e), "up", "usage", args, o, e);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void freshRefusesToDeleteADirectoryUpDidNotMake() throws Exception {
        Path mine = Files.createDirectories(dir.resolve("precious"));
        Files.writeString(mine.resolve("thesis.tex"), "years of work");
        assertThat(up("--dir", mine.toString(), "--fresh")).isEqualTo(1);
        assertThat(err()).contains("--fresh refuses to delete", "not made by up", UpMain.MARKER);
        assertThat(mine.resolve("thesis.tex")).hasContent("years of work");
    }

    @Test
    void aSecondUpOnTheSameDirectoryIsRefusedWhileTheFirstRuns() throws Exception {
        Path d = Files.createDirectories(dir.resolve("planetary-up"));
        Files.writeString(d.resolve("up.pid"), ProcessHandle.current().pid() + "\n"); // a live pid: this JVM
        assertThat(up("--dir", d.toString())).isEqualTo(1);
        assertThat(err()).contains("another up runs on " + d, "pid " + ProcessHandle.current().pid());
        assertThat(d.resolve("up.pid")).as("left as it was").exists();
    }

    @Test
    void badOptionsAreExit2() {
        assertThat(up("--vms", "-1")).isEqualTo(2);
        assertThat(err()).contains("--vms must be 0..2000");
        assertThat(up("--frobnicate")).isEqualTo(2);
    }

    @Test
    void swarmWithoutARunningUpSaysSoAndExits1() throws Exception {
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code = SwarmMain.send(dir, "list", new PrintStream(new ByteArrayOutputStream()),
            new PrintStream(e, true, StandardCharsets.UTF_8));
        assertThat(code).isEqualTo(1);
        assertThat(e.toString(StandardCharsets.UTF_8)).contains("no running `bin/planetary up` in " + dir);
    }

    @Test
    void theControlSocketAnswersListAndRefusesUnknownCommandsAndVms() throws Exception {
        try (SwarmHost host = new SwarmHost(dir, java.net.URI.create("http://127.0.0.1:1"), "no-genesis-0123456789",
                null);
             ControlServer control = ControlServer.start(host, dir.resolve("swarm.sock"))) {
            assertThat(Files.getPosixFilePermissions(dir.resolve("swarm.sock")))
                .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                    java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
            ByteArrayOutputStream o = new ByteArrayOutputStream();
            ByteArrayOutputStream e = new ByteArrayOutputStream();
            PrintStream po = new PrintStream(o, true, StandardCharsets.UTF_8);
            PrintStream pe = new PrintStream(e, true, StandardCharsets.UTF_8);
            assertThat(SwarmMain.send(dir, "list", po, pe)).isZero();
            assertThat(o.toString(StandardCharsets.UTF_8)).startsWith("0 local VMs in pid "
                + ProcessHandle.current().pid());
            assertThat(SwarmMain.send(dir, "frobnicate", po, pe)).isEqualTo(1);
            assertThat(SwarmMain.send(dir, "kill vm_nosuch", po, pe)).isEqualTo(1);
            assertThat(SwarmMain.send(dir, "spawn 0", po, pe)).isEqualTo(1);
            assertThat(e.toString(StandardCharsets.UTF_8)).contains("unknown command 'frobnicate'",
                "no local VM 'vm_nosuch'", "--count must be 1..2000");
        }
    }
}
