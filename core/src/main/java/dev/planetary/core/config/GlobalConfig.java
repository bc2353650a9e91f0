package dev.planetary.core.config;

/**
 * The {@code global} section.
 *
 * @param maxconn         global connection limit, 0 when not set (the proxy derives one from the descriptor limit)
 * @param nbthread        event loops, 0 when not set (the proxy uses the number of cores)
 * @param hardStopAfterMs time live connections get after a stop signal, 0 for no limit
 */
public record GlobalConfig(int maxconn, int nbthread, long hardStopAfterMs) {
    public static final GlobalConfig DEFAULT = new GlobalConfig(0, 0, 0);
}
