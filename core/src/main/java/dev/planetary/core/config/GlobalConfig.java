package dev.planetary.core.config;

import java.util.List;

/**
 * The {@code global} section.
 *
 * @param maxconn         global connection limit, 0 when not set (the proxy derives one from the descriptor limit)
 * @param nbthread        event loops, 0 when not set (the proxy uses the number of cores)
 * @param hardStopAfterMs time live connections get after a stop signal, 0 for no limit
 */
public record GlobalConfig(int maxconn, int nbthread, long hardStopAfterMs, List<StatsSocketConfig> statsSockets,
                           long statsTimeoutMs, int loopPriority) {
    public static final GlobalConfig DEFAULT = new GlobalConfig(0, 0, 0);

    /**
     * @param statsSockets   the {@code stats socket} lines (runtime API), none by default
     * @param statsTimeoutMs {@code stats timeout}: an idle runtime API connection is closed after it
     * @param loopPriority   {@code loop-priority}: 0 for the event loops at the normal (time-shared) priority, 1-99
     *                       for real time ({@code SCHED_FIFO} at that priority)
     */
    public GlobalConfig {
        statsSockets = List.copyOf(statsSockets);
        if (loopPriority < 0 || loopPriority > MAX_LOOP_PRIORITY) {
            throw new IllegalArgumentException("loopPriority " + loopPriority);
        }
    }

    /** The highest {@code SCHED_FIFO} priority Linux has. */
    public static final int MAX_LOOP_PRIORITY = 99;

    /** A global section with the event loops at the normal priority. */
    public GlobalConfig(int maxconn, int nbthread, long hardStopAfterMs, List<StatsSocketConfig> statsSockets,
                        long statsTimeoutMs) {
        this(maxconn, nbthread, hardStopAfterMs, statsSockets, statsTimeoutMs, 0);
    }

    /** A global section without a runtime API. */
    public GlobalConfig(int maxconn, int nbthread, long hardStopAfterMs) {
        this(maxconn, nbthread, hardStopAfterMs, List.of(), StatsSocketKeywords.DEFAULT_TIMEOUT_MS);
    }
}
