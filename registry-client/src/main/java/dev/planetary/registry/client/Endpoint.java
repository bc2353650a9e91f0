package dev.planetary.registry.client;

import java.net.URI;

/** A Genesis base URL, checked once: {@code http://HOST[:PORT][/prefix]}. */
record Endpoint(URI uri, String host, int port, String prefix) {

    static Endpoint of(URI u) {
        if (u == null || !"http".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
            throw new IllegalArgumentException("Genesis URL '" + u + "' must be http://HOST[:PORT] (e.g. "
                + "http://127.0.0.1:9000)");
        }
        if (u.getQuery() != null || u.getFragment() != null) {
            throw new IllegalArgumentException("Genesis URL '" + u + "' must not have a query or fragment");
        }
        String path = u.getRawPath() == null ? "" : u.getRawPath();
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        String host = u.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new Endpoint(u, host, u.getPort() < 0 ? 80 : u.getPort(), path);
    }

    /** The Host header's value. */
    String hostHeader() {
        return uri.getRawAuthority();
    }

    @Override
    public String toString() {
        return uri.toString();
    }
}
