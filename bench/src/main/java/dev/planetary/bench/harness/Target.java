package dev.planetary.bench.harness;

/** What the generator talks to: the backends themselves, HAProxy, or Planetary (the proxies in front of them). */
public enum Target {
    DIRECT, HAPROXY, PLANETARY;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Target of(String s) {
        return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
    }
}
