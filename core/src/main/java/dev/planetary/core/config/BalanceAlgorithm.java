package dev.planetary.core.config;

/** The {@code balance} keyword's supported values. */
public enum BalanceAlgorithm {
    ROUNDROBIN, LEASTCONN, SOURCE;

    /** The keyword as written in a config file. */
    public String keyword() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
