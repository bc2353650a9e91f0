package dev.planetary.proxy;

/** The version string printed by {@code -v}. */
final class Version {
    static final String VERSION = "0.1.0";

    private Version() {
    }

    static String line() {
        return "Planetary version " + VERSION + " (Netty " + io.netty.util.Version.identify().values().stream()
            .filter(v -> v.artifactId().equals("netty-common")).map(io.netty.util.Version::artifactVersion)
            .findFirst().orElse("?") + ", Java " + Runtime.version() + ")";
    }
}
