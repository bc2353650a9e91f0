package dev.planetary.core.config;

/**
 * One {@code stats socket} line of the {@code global} section: a unix socket at {@code path}, or a TCP one at
 * {@code host:port} ({@code ipv4@ADDR:PORT}, {@code ipv6@...}, or plain {@code ADDR:PORT}; no address means
 * loopback: an admin surface is never open to the network unless the line says so).
 *
 * @param mode  the unix socket file's permission bits, or -1 for {@link #DEFAULT_MODE}
 */
public record StatsSocketConfig(String path, String host, int port, int mode, Level level, Origin origin) {

    /** HAProxy's CLI levels: what a connection may do. */
    public enum Level { USER, OPERATOR, ADMIN }

    /** Owner read/write only: the socket may change servers, so nobody else may connect by default. */
    public static final int DEFAULT_MODE = 0600;
    /** HAProxy's default level for a stats socket. */
    public static final Level DEFAULT_LEVEL = Level.ADMIN;

    public boolean unix() {
        return path != null;
    }

    /** As written in messages: the path, or host:port. */
    public String where() {
        return unix() ? path : (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
