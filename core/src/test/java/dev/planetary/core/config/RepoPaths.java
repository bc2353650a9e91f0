package dev.planetary.core.config;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds files of the repository from a test's working directory (surefire runs in {@code core/}). */
final class RepoPaths {

    private RepoPaths() {
    }

    /** The shipped configuration, {@code <repo>/conf/planetary.cfg}, found by walking up from the working dir. */
    static Path shippedConfig() {
        return conf("planetary.cfg");
    }

    /** The static example (servers by hand, valid for real haproxy too), {@code <repo>/conf/planetary-static.cfg}. */
    static Path staticConfig() {
        return conf("planetary-static.cfg");
    }

    private static Path conf(String name) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("conf").resolve(name);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError("conf/" + name + " not found above " + Path.of("").toAbsolutePath());
    }
}
