package dev.planetary.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The repository's launcher, {@code bin/planetary}, for tests that run the programs exactly as a user does: where it
 * is, the environment it gives the JVM, and whether it would start the jar as built (rather than rebuild it with
 * Maven in the middle of a test).
 */
public final class Launcher {

    private static final Pattern SR_SIGNUM = Pattern.compile("_JAVA_SR_SIGNUM=\"?\\$\\{_JAVA_SR_SIGNUM:-(\\d+)}");

    private Launcher() {
    }

    /** The repository root: the nearest parent of the working directory holding {@code bin/planetary}. */
    public static Path root() {
        Path d = Path.of("").toAbsolutePath();
        for (int i = 0; i < 6 && d != null; i++, d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("bin/planetary"))) {
                return d;
            }
        }
        throw new AssertionError("no bin/planetary above " + Path.of("").toAbsolutePath());
    }

    /**
     * The jar this module's build made, for ITs that start it as a process: failsafe names it in the system
     * property {@code planetary.jar}. Fails the test (not skips it) when it is unset or missing.
     */
    public static Path builtJar() {
        String j = System.getProperty("planetary.jar");
        if (j == null || j.isBlank()) {
            throw new AssertionError("system property planetary.jar is not set (failsafe sets it: run mvn verify)");
        }
        Path jar = Path.of(j).toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new AssertionError("planetary.jar " + jar + " is not a file (run the package phase first)");
        }
        return jar;
    }

    /** This JVM's {@code java}, so processes a test starts run on the same JDK as the test. */
    public static String java() {
        return ProcessHandle.current().info().command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    public static Path script() {
        return root().resolve("bin/planetary");
    }

    /** The value bin/planetary exports as {@code _JAVA_SR_SIGNUM} (HotSpot's suspend/resume signal). */
    public static String srSignum() {
        try {
            Matcher m = SR_SIGNUM.matcher(Files.readString(script()));
            if (!m.find()) {
                throw new AssertionError("bin/planetary does not export _JAVA_SR_SIGNUM=\"${_JAVA_SR_SIGNUM:-N}\"");
            }
            return m.group(1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A file newer than {@code jar} among the ones bin/planetary compares it with (the root pom, core, the module;
     * {@code target} directories left out), i.e. the reason the launcher would rebuild; empty when it would not.
     */
    public static Optional<Path> newerThan(Path jar, String module) {
        try {
            FileTime built = Files.getLastModifiedTime(jar);
            Path root = root();
            if (Files.getLastModifiedTime(root.resolve("pom.xml")).compareTo(built) > 0) {
                return Optional.of(root.resolve("pom.xml"));
            }
            for (String dir : new String[] {"core", module}) {
                try (Stream<Path> files = Files.walk(root.resolve(dir))) {
                    Optional<Path> newer = files
                        .filter(p -> !root.resolve(dir).relativize(p).toString().matches("(.*/)?target(/.*)?"))
                        .filter(Files::isRegularFile)
                        .filter(p -> {
                            try {
                                return Files.getLastModifiedTime(p).compareTo(built) > 0;
                            } catch (IOException e) {
                                return false;
                            }
                        })
                        .findFirst();
                    if (newer.isPresent()) {
                        return newer;
                    }
                }
            }
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
