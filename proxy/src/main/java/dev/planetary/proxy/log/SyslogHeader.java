package dev.planetary.proxy.log;

import dev.planetary.core.config.LogTarget;
import java.nio.charset.StandardCharsets;
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
 * The dates up to the second (and the zone offset) are formatted once per second and kept as bytes: a header costs
 * no object in the steady state. Log thread only.
 */
final class SyslogHeader {

    /** The program name in the header (syslog daemons route on it). */
    static final String TAG = "planetary";

    private static final DateTimeFormatter RFC3164 = DateTimeFormatter.ofPattern("MMM ppd HH:mm:ss", Locale.ROOT);
    private static final DateTimeFormatter RFC5424_SECONDS =
        DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss", Locale.ROOT);
    private static final DateTimeFormatter RFC5424_OFFSET = DateTimeFormatter.ofPattern("xxx", Locale.ROOT);

    private final ZoneId zone;
    private final byte[] rfc3164Tag;
    private final byte[] rfc5424Tag;
    private long second = Long.MIN_VALUE;
    private byte[] rfc3164Date;
    private byte[] rfc5424Date;
    private byte[] rfc5424Offset;

    SyslogHeader(ZoneId zone, long pid) {
        this.zone = zone;
        this.rfc3164Tag = ascii(" " + TAG + "[" + pid + "]: ");
        this.rfc5424Tag = ascii(" - " + TAG + " " + pid + " - - ");
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** Appends {@code target}'s header for a record sent at {@code epochSecond} + {@code nanos}. */
    void append(LogTarget target, int severity, long epochSecond, int nanos, AsciiLine out) {
        if (target.format() == LogTarget.Format.RAW) {
            return;
        }
        if (epochSecond != second) {
            // a zone's offset changes only at a whole second: the date and offset hold for the whole second
            ZonedDateTime t = Instant.ofEpochSecond(epochSecond).atZone(zone);
            rfc3164Date = ascii(RFC3164.format(t));
            rfc5424Date = ascii(RFC5424_SECONDS.format(t));
            rfc5424Offset = ascii(RFC5424_OFFSET.format(t));
            second = epochSecond;
        }
        out.put('<').put(target.facility() * 8 + severity).put('>');
        if (target.format() == LogTarget.Format.RFC3164) {
            out.put(rfc3164Date).put(rfc3164Tag);
        } else {
            int micros = nanos / 1000;
            out.put('1').put(' ').put(rfc5424Date).put('.').three(micros / 1000).three(micros % 1000)
                .put(rfc5424Offset).put(rfc5424Tag);
        }
    }
}
