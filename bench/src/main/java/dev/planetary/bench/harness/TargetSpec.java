package dev.planetary.bench.harness;

import java.nio.file.Path;

/**
 * One column of the results: a target kind, and for Planetary its JVM flags and jar, so that variants of the proxy
 * (a flag, a transport, a build) are measured in the same run as the baseline, interleaved with it
 * ({@code --variant LABEL=FLAGS}, {@code --variant-jar LABEL=PATH}, {@code --variant-java LABEL=PATH}).
 */
public record TargetSpec(String label, Target kind, String opts, Path jar, String java) {

    public static TargetSpec of(Target kind) {
        return new TargetSpec(kind.label(), kind, null, null, null);
    }

    /** A Planetary variant with only its label set: the run's flags, jar and java until told otherwise. */
    static TargetSpec variant(String label) {
        return new TargetSpec(label, Target.PLANETARY, null, null, null);
    }

    TargetSpec withOpts(String o) {
        return new TargetSpec(label, kind, o, jar, java);
    }

    TargetSpec withJar(Path p) {
        return new TargetSpec(label, kind, opts, p, java);
    }

    TargetSpec withJava(String j) {
        return new TargetSpec(label, kind, opts, jar, j);
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
