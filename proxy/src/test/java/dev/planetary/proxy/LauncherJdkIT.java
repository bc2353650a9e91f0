package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Backends.TestServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The launcher's JDK switch: by default {@code bin/planetary proxy} runs on the default java with the JDK 17 flags;
 * {@code PLANETARY_JDK=25} runs it on JDK 25 with compact object headers and an ahead-of-time cache that a training
 * run makes once per jar (and again when the jar is newer), which the proxy then maps and loads its classes from.
 */
class LauncherJdkIT {

    private static final Duration TRAINING = Duration.ofSeconds(240);

    private static Path jar;

    @TempDir
    Path dir;

    private final Backends backends = new Backends();
    private final List<Process> started = new ArrayList<>();

    @BeforeAll
    static void locate() {
        jar = Launcher.builtJar();
        assertThat(Launcher.newerThan(jar, "proxy"))
            .as("bin/planetary would rebuild the jar (run the build first, not from inside a test)").isEmpty();
    }

    @AfterEach
    void tearDown() {
        started.forEach(Procs::killNow);
        backends.close();
    }

    @Test
    void byDefaultTheProxyRunsOnTheDefaultJavaWithoutJdk25Flags() throws Exception {
        Procs.Result java = launcher(Map.of(), "jvm", "--java");
        assertThat(java.code()).as("%s", java).isZero();
        assertThat(java.out().strip()).isEqualTo("java");
        Procs.Result opts = launcher(Map.of(), "jvm", "--opts");
        assertThat(opts.code()).as("%s", opts).isZero();
        assertThat(opts.out()).contains("-XX:+UseParallelGC")
            .doesNotContain("UseCompactObjectHeaders").doesNotContain("AOTCache");
    }

    @Test
    void anUnknownJdkOrNoJdk25IsAClearErrorNotAFallback() throws Exception {
        Procs.Result unknown = launcher(Map.of("PLANETARY_JDK", "21"), "jvm", "--java");
        assertThat(unknown.code()).as("%s", unknown).isEqualTo(64);
        assertThat(unknown.stderr()).contains("PLANETARY_JDK='21' is not one of 17 (the default java) or 25");

        Procs.Result missing = launcher(Map.of("PLANETARY_JDK", "25", "PLANETARY_JAVA", dir.resolve("nojdk").toString()),
            "proxy", "-v");
        assertThat(missing.code()).as("%s", missing).isEqualTo(1);
        assertThat(missing.stderr()).contains("PLANETARY_JDK=25 but no JDK 25 was found")
            .contains("set PLANETARY_JAVA=");

        String java17 = ProcessHandle.current().info().command().orElseThrow();
        Procs.Result tooOld = launcher(Map.of("PLANETARY_JDK", "25", "PLANETARY_JAVA", java17), "jvm", "--java");
        assertThat(tooOld.code()).as("the test JVM (%s) is not a JDK 25: %s", java17, tooOld).isEqualTo(1);
    }

    @Test
    void withJdk25TheCacheIsTrainedOncePerJarAndTheProxyRunsWithIt() throws Exception {
        Optional<Path> jdk25 = jdk25();
        Assumptions.assumeTrue(jdk25.isPresent(),
            "no JDK 25 on this machine (JAVA25_HOME, /usr/lib/jvm/temurin-25*): the JDK 25 switch is not tested");
        Map<String, String> env = Map.of("PLANETARY_JDK", "25", "JAVA25_HOME", jdk25.get().toString());

        // a cache older than the jar is made again (as after a build)
        for (Path old : caches()) {
            Files.setLastModifiedTime(old, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() - 60_000));
        }
        Procs.Result first = launcher(env, "jvm", "--opts");
        assertThat(first.code()).as("%s", first).isZero();
        assertThat(first.stderr()).contains("training the JDK 25 ahead-of-time cache");
        List<String> opts = Arrays.asList(first.out().strip().split("\\s+"));
        assertThat(opts).contains("-XX:+UseCompactObjectHeaders", "--enable-native-access=ALL-UNNAMED")
            .noneMatch(o -> o.startsWith("-XX:SharedArchiveFile")); // the JDK 17 archive is not for this JVM
        String cacheOpt = opts.stream().filter(o -> o.startsWith("-XX:AOTCache=")).findFirst()
            .orElseThrow(() -> new AssertionError("no -XX:AOTCache in " + opts + "; " + first));
        Path cache = Path.of(cacheOpt.substring("-XX:AOTCache=".length()));
        assertThat(cache).exists().startsWith(jar.getParent());
        assertThat(Files.getLastModifiedTime(cache)).isGreaterThan(Files.getLastModifiedTime(jar));
        assertThat(caches()).as("one cache, no temporary files left").containsExactly(cache);
        FileTime made = Files.getLastModifiedTime(cache);

        Procs.Result java = launcher(env, "jvm", "--java");
        assertThat(java.code()).as("%s", java).isZero();
        assertThat(java.stderr()).as("the cache is current: no second training").doesNotContain("training");
        assertThat(Path.of(java.out().strip()).toRealPath())
            .isEqualTo(jdk25.get().resolve("bin/java").toRealPath());
        assertThat(Files.getLastModifiedTime(cache)).isEqualTo(made);

        // the proxy's classes come from the cache
        List<String> check = new ArrayList<>(List.of(java.out().strip()));
        check.addAll(opts);
        check.addAll(List.of("-Xlog:class+load", "-jar", jar.toString(), "-c", "-f",
            Launcher.root().resolve("conf/planetary.cfg").toString()));
        Procs.Result loaded = Procs.run(dir, null, Duration.ofSeconds(60), check);
        assertThat(loaded.code()).as("%s", loaded.stderr()).isZero();
        assertThat(loaded.out()).contains("dev.planetary.proxy.ProxyMain source: shared objects file")
            .contains("dev.planetary.core.config.ConfigParser source: shared objects file")
            .doesNotContain("[warning]")
            .as("no picocli on the start path: its Java 5 class files cannot be cached").doesNotContain(" picocli.");

        // and the launcher's proxy, on JDK 25, maps it and proxies
        TestServer echo = backends.echo("e1");
        int port = Ports.pcpu();
        Path cfg = Files.writeString(dir.resolve("jdk25.cfg"), """
            global
                maxconn 100
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            listen jdk25
                bind 127.0.0.1:%d
                server %s 127.0.0.1:%d
            """.formatted(port, echo.name(), echo.port()));
        Procs.Running proxy = start(env, Launcher.script().toString(), "proxy", "-f", cfg.toString());
        await("accepting on " + port).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
            .until(() -> !proxy.process().isAlive() || Harness.accepts(port));
        assertThat(proxy.process().isAlive()).as("running; %s", proxy.output()).isTrue();
        assertThat(Path.of("/proc/" + proxy.pid() + "/exe").toRealPath())
            .isEqualTo(jdk25.get().resolve("bin/java").toRealPath());
        assertThat(Files.readString(Path.of("/proc/" + proxy.pid() + "/maps"))).contains(cache.toString());
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            s.setSoTimeout(10_000);
            OutputStream o = s.getOutputStream();
            InputStream in = s.getInputStream();
            o.write("over jdk 25\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(in.readNBytes(12), StandardCharsets.US_ASCII)).isEqualTo("over jdk 25\n");
        }
        proxy.process().destroy(); // SIGTERM: a clean stop
        assertThat(proxy.process().waitFor(15, TimeUnit.SECONDS)).as("stopped; %s", proxy.output()).isTrue();
        assertThat(proxy.process().exitValue()).as("%s", proxy.output()).isZero();
        assertThat(proxy.stderr()).doesNotContain("[warning]").doesNotContain("WARNING");
    }

    @Test
    void aVersionOrConfigCheckAfterABuildDoesNotWaitForATrainingRun() throws Exception {
        Path archive = ageArchive();
        Procs.Result version = launcher(Map.of(), "proxy", "-v");
        assertThat(version.code()).as("%s", version).isZero();
        assertThat(version.stderr()).doesNotContain("training");
        Procs.Result check = launcher(Map.of(), "proxy", "-c", "-f", Launcher.root().resolve("conf/planetary.cfg").toString());
        assertThat(check.code()).as("%s", check).isZero();
        assertThat(check.stderr()).doesNotContain("training");
        assertThat(!Files.exists(archive)
            || Files.getLastModifiedTime(archive).compareTo(Files.getLastModifiedTime(jar)) < 0)
            .as("no archive trained for them").isTrue();
    }

    @Test
    void aLauncherKilledDuringTrainingTakesItsTrainingJvmWithIt() throws Exception {
        ageArchive();
        Procs.Running launcher = start(Map.of(), Launcher.script().toString(), "jvm", "--opts");
        ProcessHandle[] training = new ProcessHandle[1];
        await("the training JVM").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> {
            training[0] = launcher.process().toHandle().descendants()
                .filter(p -> p.info().commandLine().orElse("").contains("dev.planetary.proxy.AotTraining"))
                .findFirst().orElse(null);
            return training[0] != null || !launcher.process().isAlive();
        });
        assertThat(training[0]).as("training started; %s", launcher.output()).isNotNull();
        launcher.process().destroyForcibly(); // SIGKILL: no trap of the launcher's runs
        assertThat(launcher.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        Path output = jar.getParent().resolve("planetary-proxy.jsa." + launcher.pid() + ".tmp"); // named by its PID
        try {
            await("the orphaned training ends").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> !training[0].isAlive());
            // a training left to finish writes its archive, which the launcher's orphaned subshell then installs for
            // nobody; one that ended with its launcher writes nothing
            Path archive = jar.getParent().resolve("planetary-proxy.jsa");
            await("no archive from the orphan").during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
                .until(() -> Files.notExists(output) && (Files.notExists(archive)
                    || Files.getLastModifiedTime(archive).compareTo(Files.getLastModifiedTime(jar)) < 0));
        } finally {
            training[0].destroyForcibly();
            Files.deleteIfExists(output);
        }
    }

    /** Makes the JDK 17 class-data archive older than the jar, as a build leaves it (it is then trained again). */
    private static Path ageArchive() throws IOException {
        Path archive = jar.getParent().resolve("planetary-proxy.jsa");
        if (Files.exists(archive)) {
            Files.setLastModifiedTime(archive, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() - 60_000));
        }
        return archive;
    }

    /** A JDK 25 home where the launcher looks for one without PLANETARY_JAVA. */
    private static Optional<Path> jdk25() throws IOException {
        String home = System.getenv("JAVA25_HOME");
        if (home != null && Files.isExecutable(Path.of(home, "bin/java"))) {
            return Optional.of(Path.of(home));
        }
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(jvms)) {
            return s.filter(p -> p.getFileName().toString().startsWith("temurin-25"))
                .filter(p -> Files.isExecutable(p.resolve("bin/java"))).sorted().findFirst();
        }
    }

    private static List<Path> caches() throws IOException {
        try (Stream<Path> s = Files.list(jar.getParent())) {
            return s.filter(p -> p.getFileName().toString().startsWith("planetary-proxy-jdk25-")
                && !p.getFileName().toString().endsWith(".log")).toList();
        }
    }

    private Procs.Result launcher(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Launcher.script().toString()));
        cmd.addAll(List.of(args));
        long t0 = System.nanoTime();
        Procs.Running r = start(env, cmd.toArray(String[]::new));
        if (!r.process().waitFor(TRAINING.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("still running after " + TRAINING + ": " + cmd + "\n" + r.output());
        }
        return new Procs.Result(r.process().exitValue(), Files.readAllBytes(r.stdoutFile()), r.stderr(),
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    }

    /** Starts {@code cmd} with {@code env} added; the JDK switch's variables come only from {@code env}. */
    private Procs.Running start(Map<String, String> env, String... cmd) {
        Map<String, String> changes = new HashMap<>();
        changes.put("PLANETARY_JDK", null);
        changes.put("PLANETARY_JAVA", null);
        changes.put("PLANETARY_JAVA_OPTS", null);
        changes.putAll(env);
        Procs.Running r = Procs.start(dir, null, List.of(cmd), changes);
        started.add(r.process());
        return r;
    }
}
