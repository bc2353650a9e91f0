package dev.planetary.core.config;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code global} keywords of the runtime API: {@code stats socket PATH|[ipv4@|ipv6@]ADDR:PORT [mode M]
 * [level user|operator|admin]} (several allowed) and {@code stats timeout T}. Kept apart from the parser's big
 * switch; it reports a bad line by throwing {@link LineError} with HAProxy-style wording.
 */
public final class StatsSocketKeywords {

    /** HAProxy's default {@code stats timeout}: an idle CLI connection is closed after 10 s. */
    public static final long DEFAULT_TIMEOUT_MS = 10_000;

    private final List<StatsSocketConfig> sockets = new ArrayList<>();
    private long timeoutMs = DEFAULT_TIMEOUT_MS;

    /** @return false if the line is not a {@code stats} keyword of ours (the parser goes on with its own) */
    boolean parse(List<String> w, Origin at) {
        if (!w.get(0).equals("stats")) {
            return false;
        }
        String sub = w.size() > 1 ? w.get(1) : "";
        switch (sub) {
            case "socket" -> sockets.add(socket(w, at));
            case "timeout" -> {
                if (w.size() < 3) {
                    throw new LineError("'stats timeout' in 'global' section expects a timeout value");
                }
                try {
                    timeoutMs = Durations.parseMillis(w.get(2));
                } catch (Durations.InvalidDurationException e) {
                    throw new LineError("'stats timeout' in 'global' section expects a timeout value, got '"
                        + w.get(2) + "': " + e.reason());
                }
                if (timeoutMs <= 0) {
                    throw new LineError("'stats timeout' in 'global' section expects a positive value");
                }
                if (w.size() > 3) {
                    throw new LineError("'stats timeout' cannot handle unexpected argument '" + w.get(3) + "'");
                }
            }
            default -> throw new LineError("'stats' in 'global' section expects 'socket' or 'timeout' (got '"
                + sub + "'; other stats keywords of HAProxy are not supported here)");
        }
        return true;
    }

    private static StatsSocketConfig socket(List<String> w, Origin at) {
        if (w.size() < 3 || w.get(2).isEmpty()) {
            throw new LineError("'stats socket' in 'global' section expects a path or an address");
        }
        String target = w.get(2);
        int mode = -1;
        StatsSocketConfig.Level level = StatsSocketConfig.DEFAULT_LEVEL;
        for (int i = 3; i < w.size(); i++) {
            String opt = w.get(i);
            if (i + 1 >= w.size()) {
                throw new LineError("'stats socket' option '" + opt + "' expects a value");
            }
            String v = w.get(++i);
            switch (opt) {
                case "mode" -> {
                    try {
                        mode = Integer.parseInt(v, 8);
                    } catch (NumberFormatException e) {
                        mode = -2;
                    }
                    if (mode < 0 || mode > 0777) {
                        throw new LineError("'stats socket' option 'mode' expects an octal mode such as 600, got '"
                            + v + "'");
                    }
                }
                case "level" -> {
                    level = switch (v) {
                        case "user" -> StatsSocketConfig.Level.USER;
                        case "operator" -> StatsSocketConfig.Level.OPERATOR;
                        case "admin" -> StatsSocketConfig.Level.ADMIN;
                        default -> throw new LineError("'stats socket' option 'level' expects 'user', 'operator'"
                            + " or 'admin', got '" + v + "'");
                    };
                }
                default -> throw new LineError("'stats socket' option '" + opt + "' is not supported (supported:"
                    + " mode, level)");
            }
        }
        String addr = target;
        String family = null;
        int at2 = addr.indexOf('@');
        if (at2 > 0) {
            family = addr.substring(0, at2);
            addr = addr.substring(at2 + 1);
            if (family.equals("unix")) {
                return unixSocket(addr, mode, level, at);
            }
            if (!family.equals("ipv4") && !family.equals("ipv6")) {
                throw new LineError("'stats socket' address family '" + family + "@' is not supported (unix@,"
                    + " ipv4@, ipv6@ or a path)");
            }
        } else if (addr.startsWith("/") || !addr.contains(":")) {
            return unixSocket(addr, mode, level, at);
        }
        int colon = addr.lastIndexOf(':');
        if (colon < 0) {
            throw new LineError("'stats socket' expects ADDR:PORT after '" + family + "@', got '" + target + "'");
        }
        String host = addr.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(addr.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535) {
            throw new LineError("'stats socket' expects a port 1-65535 in '" + target + "'");
        }
        if (host.isEmpty() || host.equals("*")) {
            host = "ipv6".equals(family) ? "::1" : "127.0.0.1"; // loopback unless the line names an address
        }
        if (mode != -1) {
            throw new LineError("'stats socket' option 'mode' applies to unix sockets only");
        }
        return new StatsSocketConfig(null, host, port, -1, level, at);
    }

    private static StatsSocketConfig unixSocket(String path, int mode, StatsSocketConfig.Level level, Origin at) {
        if (path.isEmpty()) {
            throw new LineError("'stats socket' expects a path");
        }
        return new StatsSocketConfig(path, null, 0, mode, level, at);
    }

    List<StatsSocketConfig> sockets() {
        return List.copyOf(sockets);
    }

    long timeoutMs() {
        return timeoutMs;
    }
}
