package dev.planetary.proxy.log;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.LogTarget;
import dev.planetary.core.config.Origin;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * The dates of a line are computed once per second and cached: they must still be right at a second's boundary,
 * going back to an earlier second (records come in close order, not accept order) and across a change of the zone's
 * offset (daylight saving), checked against java.time formatting each instant on its own.
 */
class LogDatesTest {

    private static final ZoneId PARIS = ZoneId.of("Europe/Paris");
    /** 2026-03-29 01:00:00 UTC: Paris goes from +01:00 to +02:00 (02:00 local becomes 03:00). */
    private static final Instant DST = Instant.parse("2026-03-29T01:00:00Z");

    private static final DateTimeFormatter TCPLOG = DateTimeFormatter.ofPattern("dd/MMM/uuuu:HH:mm:ss.SSS",
        Locale.ROOT);

    private static String tcplogDate(TcpLogFormat f, long epochMs) {
        AsciiLine l = new AsciiLine(64);
        f.date(epochMs, l);
        return l.toString();
    }

    @Test
    void acceptDateAcrossSecondBoundariesBackwardsAndAcrossDaylightSaving() {
        TcpLogFormat f = new TcpLogFormat(PARIS);
        long t0 = DST.toEpochMilli() - 2_001;
        long[] sequence = {t0, t0 + 1, t0 + 999, t0 + 1_000, t0 + 1_001, t0, t0 + 2_000, t0 + 2_001, t0 + 2_999,
            t0 + 3_000, t0 + 1_000, -1, 0, 999, 1_000};
        for (long ms : sequence) {
            assertThat(tcplogDate(f, ms)).as("%d", ms)
                .isEqualTo(TCPLOG.format(Instant.ofEpochMilli(ms).atZone(PARIS)));
        }
        assertThat(tcplogDate(f, DST.toEpochMilli() - 1)).isEqualTo("29/Mar/2026:01:59:59.999");
        assertThat(tcplogDate(f, DST.toEpochMilli())).isEqualTo("29/Mar/2026:03:00:00.000");
    }

    @Test
    void syslogHeaderDatesAcrossSecondBoundariesAndDaylightSaving() {
        Origin at = new Origin("t.cfg", 1);
        LogTarget rfc3164 = new LogTarget(LogTarget.Kind.UDP, "127.0.0.1", 514, 1024, LogTarget.Format.RFC3164, 16,
            7, at);
        LogTarget rfc5424 = new LogTarget(LogTarget.Kind.UDP, "127.0.0.1", 514, 1024, LogTarget.Format.RFC5424, 16,
            7, at);
        LogTarget raw = new LogTarget(LogTarget.Kind.UDP, "127.0.0.1", 514, 1024, LogTarget.Format.RAW, 16, 7, at);
        SyslogHeader h = new SyslogHeader(PARIS, 42);
        Instant[] sequence = {DST.minusNanos(1_000), DST, DST.plusNanos(999_999_999), DST.plusSeconds(1),
            DST.minusSeconds(1), DST.plusNanos(123_456_789)};
        for (Instant t : sequence) {
            var local = t.atZone(PARIS);
            assertThat(header(h, rfc3164, t)).as("%s", t).isEqualTo("<134>"
                + DateTimeFormatter.ofPattern("MMM ppd HH:mm:ss", Locale.ROOT).format(local) + " planetary[42]: ");
            assertThat(header(h, rfc5424, t)).as("%s", t).isEqualTo("<134>1 "
                + DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSxxx", Locale.ROOT).format(local)
                + " - planetary 42 - - ");
            assertThat(header(h, raw, t)).isEmpty();
        }
        assertThat(header(h, rfc5424, DST.minusNanos(1_000))).isEqualTo(
            "<134>1 2026-03-29T01:59:59.999999+01:00 - planetary 42 - - ");
        assertThat(header(h, rfc5424, DST)).isEqualTo("<134>1 2026-03-29T03:00:00.000000+02:00 - planetary 42 - - ");
        assertThat(header(new SyslogHeader(ZoneOffset.UTC, 7), rfc3164, Instant.parse("2026-11-09T20:09:19.977Z")))
            .as("the day padded with a space, as HAProxy's").isEqualTo("<134>Nov  9 20:09:19 planetary[7]: ");
    }

    private static String header(SyslogHeader h, LogTarget t, Instant at) {
        AsciiLine l = new AsciiLine(256);
        h.append(t, LogTarget.INFO, at.getEpochSecond(), at.getNano(), l);
        return l.toString();
    }
}
