package dev.planetary.core.config;

/**
 * One {@code log} line: where connection log records go, in which syslog format, with which facility and level.
 *
 * @param kind     standard output, standard error, or a UDP syslog server
 * @param host     the syslog server's IP literal (UDP only, else null)
 * @param port     its UDP port (HAProxy's default {@link #DEFAULT_PORT})
 * @param maxLength {@code len N}: a longer line is cut to N bytes (HAProxy's default {@link #DEFAULT_LENGTH})
 * @param format   {@code format rfc3164|rfc5424|raw}
 * @param facility syslog facility number (local0 is 16)
 * @param level    syslog severity of the records (info is 6); a target whose level is below it gets nothing
 */
public record LogTarget(Kind kind, String host, int port, int maxLength, Format format, int facility, int level,
                        Origin origin) {

    /** The syslog port (RFC 5426). */
    public static final int DEFAULT_PORT = 514;
    /** HAProxy's default line length: what every syslog daemon accepts (RFC 3164 asks for at most 1024). */
    public static final int DEFAULT_LENGTH = 1024;
    /** HAProxy's limit on {@code len}. */
    public static final int MAX_LENGTH = 65_535;
    /** Smallest {@code len}: shorter lines could not hold a header. */
    public static final int MIN_LENGTH = 80;

    public enum Kind { STDOUT, STDERR, UDP }

    public enum Format {
        RFC3164, RFC5424, RAW;

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Syslog facility names in code order, as HAProxy's {@code log_facilities}. */
    public static final java.util.List<String> FACILITIES = java.util.List.of("kern", "user", "mail", "daemon",
        "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2",
        "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7");

    /** Syslog severities in code order. */
    public static final java.util.List<String> LEVELS = java.util.List.of("emerg", "alert", "crit", "err",
        "warning", "notice", "info", "debug");

    /** The level at which HAProxy sends a connection's log record. */
    public static final int INFO = 6;

    @Override
    public String toString() {
        return switch (kind) {
            case STDOUT -> "stdout";
            case STDERR -> "stderr";
            case UDP -> (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
        };
    }
}
