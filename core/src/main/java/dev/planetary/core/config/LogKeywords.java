package dev.planetary.core.config;

import java.util.List;

/**
 * HAProxy's {@code log} line, for the connection log:
 * {@code log stdout|stderr|ADDR[:PORT] [len N] [format rfc3164|rfc5424|raw] FACILITY [LEVEL [MINLEVEL]]}, with
 * {@code ADDR} an IPv4 or IPv6 literal (optionally {@code udp@}/{@code ipv4@}/{@code ipv6@}), sent over UDP.
 * {@code log global} and {@code no log} are handled by {@link ConfigParser}, which knows the sections.
 */
final class LogKeywords {

    private LogKeywords() {
    }

    static LogTarget target(List<String> w, Origin at) {
        if (w.size() < 2) {
            throw new LineError("'log' expects either <address[:port]> followed by <facility>, or 'global'");
        }
        String address = w.get(1);
        LogTarget.Kind kind;
        String host = null;
        int port = LogTarget.DEFAULT_PORT;
        switch (address) {
            case "stdout" -> kind = LogTarget.Kind.STDOUT;
            case "stderr" -> kind = LogTarget.Kind.STDERR;
            default -> {
                kind = LogTarget.Kind.UDP;
                String a = address;
                for (String prefix : new String[] {"udp@", "udp4@", "udp6@", "ipv4@", "ipv6@"}) {
                    if (a.startsWith(prefix)) {
                        a = a.substring(prefix.length());
                        break;
                    }
                }
                if (a.startsWith("/") || a.startsWith("unix@") || a.startsWith("ring@") || a.startsWith("fd@")
                    || a.startsWith("tcp@")) {
                    throw new LineError("'log " + address + "' : Planetary logs to stdout, stderr or a UDP syslog"
                        + " address (e.g. 127.0.0.1:514), not to a unix socket, ring or TCP server");
                }
                String[] hp = hostPort(a);
                host = Addresses.literalIp(hp[0]);
                if (host == null) {
                    throw new LineError("'log' : '" + address + "' is not an IP address (a log server is given"
                        + " by its IPv4 or IPv6 literal, e.g. 127.0.0.1:514)");
                }
                if (hp[1] != null) {
                    Integer p = ConfigParser.parseInt(hp[1], 1, 65535);
                    if (p == null) {
                        throw new LineError("'log' : invalid port '" + hp[1] + "' in '" + address + "'");
                    }
                    port = p;
                }
            }
        }
        int i = 2;
        int length = LogTarget.DEFAULT_LENGTH;
        LogTarget.Format format = LogTarget.Format.RFC3164;
        for (;;) {
            String word = i < w.size() ? w.get(i) : "";
            if (word.equals("len")) {
                String v = i + 1 < w.size() ? w.get(i + 1) : "";
                Integer len = ConfigParser.parseInt(v, LogTarget.MIN_LENGTH, LogTarget.MAX_LENGTH);
                if (len == null) {
                    throw new LineError("'log' : 'len' expects an integer between " + LogTarget.MIN_LENGTH + " and "
                        + LogTarget.MAX_LENGTH + ", got '" + v + "'");
                }
                length = len;
                i += 2;
            } else if (word.equals("format")) {
                String v = i + 1 < w.size() ? w.get(i + 1) : "";
                format = switch (v) {
                    case "rfc3164" -> LogTarget.Format.RFC3164;
                    case "rfc5424" -> LogTarget.Format.RFC5424;
                    case "raw" -> LogTarget.Format.RAW;
                    case "short", "priority", "iso", "timed", "local" -> throw new LineError("'log' : format '" + v
                        + "' is a HAProxy log format that Planetary does not support: use rfc3164, rfc5424 or raw");
                    default -> throw new LineError("'log' : unknown log format '" + v + "': expects rfc3164,"
                        + " rfc5424 or raw");
                };
                i += 2;
            } else if (word.equals("sample")) {
                throw new LineError("'log' : 'sample' is a HAProxy log option that Planetary does not support");
            } else {
                break;
            }
        }
        if (i >= w.size()) {
            throw new LineError("'log' : missing facility after '" + String.join(" ", w.subList(1, i))
                + "' (e.g. 'local0')");
        }
        int facility = LogTarget.FACILITIES.indexOf(w.get(i));
        if (facility < 0) {
            throw new LineError("'log' : unknown facility '" + w.get(i) + "' (expects one of "
                + String.join(", ", LogTarget.FACILITIES) + ")");
        }
        int level = LogTarget.LEVELS.size() - 1;
        if (i + 1 < w.size()) {
            level = level(w.get(i + 1));
        }
        if (i + 2 < w.size()) {
            level(w.get(i + 2)); // minimum level: every connection record is 'info', so it only needs to be valid
        }
        if (i + 3 < w.size()) {
            throw new LineError("'log' cannot handle unexpected argument '" + w.get(i + 3) + "'");
        }
        return new LogTarget(kind, host, port, length, format, facility, level, at);
    }

    private static int level(String name) {
        int level = LogTarget.LEVELS.indexOf(name);
        if (level < 0) {
            throw new LineError("'log' : unknown optional log level '" + name + "' (expects one of "
                + String.join(", ", LogTarget.LEVELS) + ")");
        }
        return level;
    }

    /** "1.2.3.4", "1.2.3.4:514", "[::1]:514", "::1" (an IPv6 literal without brackets takes no port). */
    private static String[] hostPort(String a) {
        if (a.startsWith("[")) {
            int close = a.indexOf(']');
            if (close < 0) {
                throw new LineError("'log' : missing ']' in '" + a + "'");
            }
            String rest = a.substring(close + 1);
            if (!rest.isEmpty() && !rest.startsWith(":")) {
                throw new LineError("'log' : unexpected '" + rest + "' after the address in '" + a + "'");
            }
            return new String[] {a.substring(0, close + 1), rest.isEmpty() ? null : rest.substring(1)};
        }
        int colon = a.indexOf(':');
        if (colon >= 0 && a.indexOf(':', colon + 1) < 0) {
            return new String[] {a.substring(0, colon), a.substring(colon + 1)};
        }
        return new String[] {a, null};
    }
}
