package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shipped systemd units (dist/systemd) checked by systemd itself: {@code systemd-analyze verify} (unknown keys,
 * bad values, a missing executable; it needs no running systemd, so it works in a container and in CI) and the
 * offline security review, plus what verify cannot know: the units give the JVM the launcher's signal set-up and
 * flags, and keep the sandbox the README promises.
 */
class SystemdUnitsTest {

    private static final Path UNITS = Launcher.root().resolve("dist/systemd");
    /** systemd's own scale: up to 3.9 is "OK"; both units measured 3.0 with systemd 252. */
    private static final double MAX_EXPOSURE = 3.9;

    private static Procs.Result analyze(Path dir, String... args) throws InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("systemd-analyze"));
        cmd.addAll(List.of(args));
        return Procs.run(dir, null, Duration.ofSeconds(60), cmd);
    }

    @ParameterizedTest
    @ValueSource(strings = {"planetary-proxy.service", "planetary-genesis.service"})
    void systemdAnalyzeVerifyFindsNothing(String unit, @TempDir Path dir) throws Exception {
        Procs.Result r = analyze(dir, "verify", UNITS.resolve(unit).toString());
        assertThat(r.code()).as("%s", r).isZero();
        assertThat(r.out() + r.stderr()).as("no warning either (verify exits 0 on an unknown key): %s", r).isBlank();
    }

    @Test
    void verifyDoesCatchAMistakeSoTheTestAboveCanFail(@TempDir Path dir) throws Exception {
        Path broken = dir.resolve("planetary-proxy.service");
        Files.writeString(broken, Files.readString(UNITS.resolve("planetary-proxy.service"))
            .replace("ProtectSystem=strict", "ProtectSytem=strict"));
        Procs.Result r = analyze(dir, "verify", broken.toString());
        assertThat(r.out() + r.stderr()).contains("Unknown key 'ProtectSytem'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"planetary-proxy.service", "planetary-genesis.service"})
    void offlineSecurityReviewRatesTheSandboxOk(String unit, @TempDir Path dir) throws Exception {
        Procs.Result r = analyze(dir, "security", "--offline=true", UNITS.resolve(unit).toString());
        assertThat(r.code()).as("%s", r).isZero();
        Matcher m = Pattern.compile("Overall exposure level for \\S+: (\\d+\\.\\d+)").matcher(r.out());
        assertThat(m.find()).as("%s", r).isTrue();
        assertThat(Double.parseDouble(m.group(1))).as("exposure of %s", unit).isLessThanOrEqualTo(MAX_EXPOSURE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"planetary-proxy.service", "planetary-genesis.service"})
    void eachUnitHasTheSandboxAndTheLaunchersSignalSetUp(String unit) throws Exception {
        List<String> lines = Files.readAllLines(UNITS.resolve(unit)).stream()
            .filter(l -> !l.startsWith("#")).toList();
        assertThat(lines).contains(
            "Environment=_JAVA_SR_SIGNUM=" + Launcher.srSignum(),
            "Type=exec",
            "LimitNOFILE=65536",
            "DynamicUser=yes",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "CapabilityBoundingSet=",
            "Restart=on-failure");
        assertThat(lines).as("no capability unless a port below 1024 needs it")
            .noneMatch(l -> l.startsWith("AmbientCapabilities="));
        assertThat(lines).as("the JIT needs writable+executable memory")
            .noneMatch(l -> l.startsWith("MemoryDenyWriteExecute="));
    }

    @Test
    void theProxyUnitReloadsOnSighupAndUsesTheLaunchersJvmFlags() throws Exception {
        String unit = Files.readString(UNITS.resolve("planetary-proxy.service"));
        assertThat(unit).contains("\nExecReload=/bin/kill -HUP $MAINPID\n")
            .contains("\nExecStart=/usr/bin/java $PLANETARY_JAVA_OPTS -jar /opt/planetary/planetary-proxy.jar"
                + " -f /etc/planetary/planetary.cfg\n");
        Matcher launcher = Pattern.compile("PLANETARY_JAVA_OPTS:=([^}]*)}").matcher(
            Files.readString(Launcher.script()));
        assertThat(launcher.find()).isTrue();
        assertThat(unit).contains("\nEnvironment=\"PLANETARY_JAVA_OPTS=" + launcher.group(1) + "\"\n");
    }

    @Test
    void genesisKeepsItsDataInItsStateDirectoryAndHasNoReload() throws Exception {
        String unit = Files.readString(UNITS.resolve("planetary-genesis.service"));
        assertThat(unit).contains("\nStateDirectory=planetary-genesis\n")
            .contains("--data-dir /var/lib/planetary-genesis\n")
            .contains("--listen 127.0.0.1:9000 ")
            .doesNotContain("\nExecReload=");
    }
}
