package dev.planetary.proxy.log;

import dev.planetary.core.config.LogTarget;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The header a log target puts in front of each line, as HAProxy 2.6 writes it:
 * <ul>
 *   <li>rfc3164 (default): {@code <134>Nov 29 20:09:19 planetary[16828]: }</li>
 *   <li>rfc5424: {@code <134>1 2026-11-29T20:09:19.977918+00:00 - planetary 16828 - - }</li>
 *   <li>raw: nothing.</li>
 * </ul>
 * The tag is {@link #TAG}, where HAProxy writes "haproxy"; no host name, as HAProxy without {@code log-send-hostname}.
 */
final class SyslogHeader {

    /** The program name in the header (syslog daemons route on it). */
    static final String TAG = "planetary";

    private static final DateTimeFormatter RFC3164 = DateTimeFormatter.ofPattern("MMM ppd HH:mm:ss", Locale.ROOT);
    private static final DateTimeFormatter RFC5424 =
        DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSxxx", Locale.ROOT);

    private final ZoneId zone;
    private final long pid;

    SyslogHeader(ZoneId zone, long pid) {
        this.zone = zone;
        this.pid = pid;
    }

    /** Appends {@code target}'s header for a record sent at {@code now} with the given severity. */
    void append(LogTarget target, int severity, Instant now, StringBuilder out) {
        if (target.format() == LogTarget.Format.RAW) {
            return;
        }
        out.append('<').append(target.facility() * 8 + severity).append('>');
        ZonedDateTime t = now.atZone(zone);
        if (target.format() == LogTarget.Format.RFC3164) {
            RFC3164.formatTo(t, out);
            out.append(' ').append(TAG).append('[').append(pid).append("]: ");
        } else {
            out.append("1 ");
            RFC5424.formatTo(t, out);
            out.append(" - ").append(TAG).append(' ').append(pid).append(" - - ");
        }
    }
}
