package dev.planetary.core.config;

/**
 * One address and port range to listen on, from a {@code bind} line.
 *
 * @param host     literal IPv4 or IPv6 address, or null for every address ({@code bind :PORT})
 * @param lowPort  first port, 1..65535
 * @param highPort last port, inclusive, >= lowPort
 * @param acceptProxy {@code accept-proxy}: every connection starts with HAProxy's PROXY protocol header (v1 or v2),
 *                 whose source address stands for the client's
 * @param origin   where it was written, for error messages
 */
public record Bind(String host, int lowPort, int highPort, boolean acceptProxy, Origin origin) {

    /** A bind without {@code accept-proxy}. */
    public Bind(String host, int lowPort, int highPort, Origin origin) {
        this(host, lowPort, highPort, false, origin);
    }

    /** The same addresses with {@code accept-proxy}. */
    public Bind withAcceptProxy() {
        return new Bind(host, lowPort, highPort, true, origin);
    }

    public int portCount() {
        return highPort - lowPort + 1;
    }

    /**
     * True when the two binds could claim the same socket (same or wildcard address, overlapping ports).
     * {@code 0.0.0.0} and {@code ::} count as wildcards like a null host: on Linux a socket bound to either
     * (with dual-stack {@code ::}) conflicts with any specific address on the same port.
     */
    public boolean overlaps(Bind other) {
        boolean sameAddress = isWildcard() || other.isWildcard() || host.equals(other.host);
        return sameAddress && lowPort <= other.highPort && other.lowPort <= highPort;
    }

    /** True for every address: null ({@code *:PORT}, {@code :PORT}), {@code 0.0.0.0} or {@code ::}. */
    public boolean isWildcard() {
        return host == null || host.equals("0.0.0.0") || host.equals("::");
    }

    @Override
    public String toString() {
        String h = host == null ? "" : (host.indexOf(':') >= 0 ? "[" + host + "]" : host);
        return h + ":" + (lowPort == highPort ? Integer.toString(lowPort) : lowPort + "-" + highPort);
    }
}
