package dev.planetary.core.config;

/**
 * One {@code server} line, with {@code default-server} values already applied.
 *
 * @param interMs  health check interval (HAProxy default 2s)
 * @param rise     consecutive successful checks to go up (default 2)
 * @param fall     consecutive failed checks to go down (default 3)
 * @param weight   0..256 (default 1)
 * @param maxconn  0 for no limit
 */
public record ServerConfig(String name, String host, int port, boolean check, long interMs, int rise, int fall,
                           int weight, int maxconn, boolean backup, boolean disabled, Origin origin) {

    public static final long DEFAULT_INTER_MS = 2_000;
    public static final int DEFAULT_RISE = 2;
    public static final int DEFAULT_FALL = 3;
    public static final int DEFAULT_WEIGHT = 1;
}
