package dev.planetary.core.config;

/**
 * One {@code server} line, with {@code default-server} values already applied.
 *
 * @param interMs  health check interval (HAProxy default 2s)
 * @param rise     consecutive successful checks to go up (default 2)
 * @param fall     consecutive failed checks to go down (default 3)
 * @param weight   0..256 (default 1)
 * @param maxconn  0 for no limit
 * @param sendProxy        {@code send-proxy} / {@code send-proxy-v2}: the PROXY header sent before the client's bytes
 * @param checkSendProxy   {@code check-send-proxy}: health checks send a header even where the server has none
 */
public record ServerConfig(String name, String host, int port, boolean check, long interMs, int rise, int fall,
                           int weight, int maxconn, boolean backup, boolean disabled, SendProxy sendProxy,
                           boolean checkSendProxy, Origin origin) {

    public ServerConfig {
        java.util.Objects.requireNonNull(sendProxy, "sendProxy");
    }

    /** A server that is sent no PROXY header. */
    public ServerConfig(String name, String host, int port, boolean check, long interMs, int rise, int fall,
                        int weight, int maxconn, boolean backup, boolean disabled, Origin origin) {
        this(name, host, port, check, interMs, rise, fall, weight, maxconn, backup, disabled, SendProxy.NONE, false,
            origin);
    }

    /**
     * The PROXY header a health check sends, as HAProxy 2.6 does (measured): the server's own {@code send-proxy*}
     * if it has one, else version 1 when {@code check-send-proxy} forces it, else none.
     */
    public SendProxy checkProxy() {
        return sendProxy != SendProxy.NONE ? sendProxy : checkSendProxy ? SendProxy.V1 : SendProxy.NONE;
    }

    public static final long DEFAULT_INTER_MS = 2_000;
    public static final int DEFAULT_RISE = 2;
    public static final int DEFAULT_FALL = 3;
    public static final int DEFAULT_WEIGHT = 1;
}
