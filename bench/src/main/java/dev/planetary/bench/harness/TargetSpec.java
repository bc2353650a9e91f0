package dev.planetary.bench.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One column of the results: a target kind, and for Planetary its JVM flags and jar, so that variants of the proxy
 * (a flag, a transport, a build) are measured in the same run as the baseline, interleaved with it
 * ({@code --variant LABEL=FLAGS}, {@code --variant-jar LABEL=PATH}, {@code --variant-java LABEL=PATH}), and with
 * config lines of its own merged into the run's generated config ({@code --variant-config LABEL=FILE-or-LINES}).
 */
public record TargetSpec(String label, Target kind, String opts, Path jar, String java, String config) {

    public static TargetSpec of(Target kind) {
        return new TargetSpec(kind.label(), kind, null, null, null, null);
    }

    /** A Planetary variant with only its label set: the run's flags, jar, java and config until told otherwise. */
    static TargetSpec variant(String label) {
        return new TargetSpec(label, Target.PLANETARY, null, null, null, null);
    }

    /** The same target under another column label (a HAProxy variant). */
    TargetSpec withLabel(String l) {
        return new TargetSpec(l, kind, opts, jar, java, config);
    }

    TargetSpec withOpts(String o) {
        return new TargetSpec(label, kind, o, jar, java, config);
    }

    TargetSpec withJar(Path p) {
        return new TargetSpec(label, kind, opts, p, java, config);
    }

    TargetSpec withJava(String j) {
        return new TargetSpec(label, kind, opts, jar, j, config);
    }

    /** @param fragment haproxy-syntax sections whose lines {@link ConfigGen#merge} adds to the generated config */
    TargetSpec withConfig(String fragment) {
        return new TargetSpec(label, kind, opts, jar, java, fragment);
    }

    /**
     * The config this target runs from: the generated one, or with this variant's fragment merged in, written beside
     * it as {@code NAME-LABEL.cfg} (each figure regenerates it, so it always follows the run's ports).
     */
    Path configFor(Path generated, Path dir) {
        if (config == null) {
            return generated;
        }
        String name = generated.getFileName().toString().replaceFirst("\\.cfg$", "");
        Path merged = dir.resolve(name + "-" + label + ".cfg");
        try {
            Files.writeString(merged, ConfigGen.merge(Files.readString(generated), config));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the config of " + label, e);
        }
        return merged;
    }

    /** The java binary: this variant's (e.g. a newer JDK), or the run's. */
    String javaOr(String dflt) {
        return java == null ? dflt : java;
    }

    /** The proxy's JVM flags: this variant's, or the run's. */
    String optsOr(String dflt) {
        return opts == null ? dflt : opts;
    }

    Path jarOr(Path dflt) {
        return jar == null ? dflt : jar;
    }
}
