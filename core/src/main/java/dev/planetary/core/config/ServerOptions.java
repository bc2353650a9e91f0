package dev.planetary.core.config;

/**
 * The options of a server without its name and address: what {@code default-server} gives the servers that a
 * backend discovers (each takes the values in force at its {@code discover} line, as a {@code server} line takes
 * those in force at its own line).
 */
public record ServerOptions(boolean check, long interMs, int rise, int fall, int weight, int maxconn, boolean backup,
                            boolean disabled, SendProxy sendProxy, boolean checkSendProxy) {

    /** Options that send no PROXY header. */
    public ServerOptions(boolean check, long interMs, int rise, int fall, int weight, int maxconn, boolean backup,
                         boolean disabled) {
        this(check, interMs, rise, fall, weight, maxconn, backup, disabled, SendProxy.NONE, false);
    }

    /** HAProxy's server defaults: no checks, {@code inter 2s rise 2 fall 3 weight 1}. */
    public static final ServerOptions DEFAULT = new ServerOptions(false, ServerConfig.DEFAULT_INTER_MS,
        ServerConfig.DEFAULT_RISE, ServerConfig.DEFAULT_FALL, ServerConfig.DEFAULT_WEIGHT, 0, false, false);

    /** A server with these options. */
    public ServerConfig server(String name, String host, int port, Origin origin) {
        return new ServerConfig(name, host, port, check, interMs, rise, fall, weight, maxconn, backup, disabled,
            sendProxy, checkSendProxy, origin);
    }
}
