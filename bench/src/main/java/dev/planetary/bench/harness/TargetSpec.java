package dev.planetary.bench.harness;

import java.nio.file.Path;

/**
 * One column of the results: a target kind, and for Planetary its JVM flags and jar, so that variants of the proxy
 * (a flag, a transport, a build) are measured in the same run as the baseline, interleaved with it
 * ({@code --variant LABEL=FLAGS}, {@code --variant-jar LABEL=PATH}).
 */
public record TargetSpec(String label, Target kind, String opts, Path jar) {

    public static TargetSpec of(Target kind) {
        return new TargetSpec(kind.label(), kind, null, null);
    }

    TargetSpec withJar(Path p) {
        return new TargetSpec(label, kind, opts, p);
    }

    /** The proxy's JVM flags: this variant's, or the run's. */
    String optsOr(String dflt) {
        return opts == null ? dflt : opts;
    }

    Path jarOr(Path dflt) {
        return jar == null ? dflt : jar;
    }
}
