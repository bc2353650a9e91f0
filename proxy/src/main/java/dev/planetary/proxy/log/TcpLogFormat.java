package dev.planetary.proxy.log;

import dev.planetary.core.config.LogTarget;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;

/**
 * HAProxy's {@code option tcplog} line:
 * {@code %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq}, e.g.
 * {@code 127.0.0.1:55756 [29/Nov/2026:20:09:19.975] pcpu pcpu/s1 1/0/2 3 -- 1/1/0/0/0 0/0}.
 * Runs on the log thread only; {@code %t} is in the process's time zone, as HAProxy's.
 *
 * <p>Written as bytes into the log thread's reused line ({@link AsciiLine}): the date up to the second is computed
 * once per second of accept time and the client address once per distinct address in a row, so a line costs no
 * object in the steady state.
 */
public final class TcpLogFormat {

    private static final String[] MONTHS = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
        "Nov", "Dec"};
    private static final byte[] NOSRV = "<NOSRV>".getBytes(StandardCharsets.US_ASCII);
    /** Longest date up to the second: {@code dd/MMM/yyyy:HH:mm:ss} with room for a year beyond 9999. */
    private static final int DATE_MAX = 32;
    /** Longest address literal: a full IPv6 one is 39 characters. */
    private static final int ADDRESS_MAX = 64;

    private final ZoneId zone;
    /** {@code %t} up to its seconds, for the epoch second {@link #dateSecond}. */
    private final AsciiLine date = new AsciiLine(DATE_MAX);
    private long dateSecond = Long.MIN_VALUE;
    /** {@code %ci} of the last address formatted (clients come back: the same literal again). */
    private final AsciiLine address = new AsciiLine(ADDRESS_MAX);
    private InetAddress lastAddress;
    /** For the StringBuilder form only (tests, tools): the line as bytes first. */
    private AsciiLine scratch;

    public TcpLogFormat(ZoneId zone) {
        this.zone = zone;
    }

    /** Appends the record's line (without newline) to {@code out}: the same characters as the log thread writes. */
    public void format(ConnectionRecord r, StringBuilder out) {
        if (scratch == null) {
            scratch = new AsciiLine(LogTarget.MAX_LENGTH);
        }
        scratch.clear();
        format(r, scratch);
        scratch.appendTo(out);
    }

    /** Appends the record's line (without newline) to {@code out}. */
    void format(ConnectionRecord r, AsciiLine out) {
        address(r.clientIp, out);
        out.put(':').put(r.clientPort).put(' ').put('[');
        date(r.acceptEpochMs, out);
        out.put(']').put(' ').put(r.frontend).put(' ').put(r.backend).put('/');
        if (r.server == null) {
            out.put(NOSRV);
        } else {
            out.put(r.server);
        }
        out.put(' ').put(r.tw).put('/').put(r.tc).put('/').put(r.tt).put(' ')
            .put(r.bytesToClient).put(' ')
            .put(r.endCause).put(r.endPhase).put(' ')
            .put(r.actconn).put('/').put(r.feconn).put('/').put(r.beconn).put('/')
            .put(r.srvconn).put('/');
        if (r.redispatched) {
            out.put('+');
        }
        out.put(r.retries).put(' ').put(r.srvQueue).put('/').put(r.backendQueue);
    }

    /** {@code 29/Nov/2026:20:09:19.975}. */
    void date(long epochMs, AsciiLine out) {
        long second = Math.floorDiv(epochMs, 1000L);
        if (second != dateSecond) {
            // a zone's offset changes only at a whole second: everything but the milliseconds holds for the second
            ZonedDateTime t = Instant.ofEpochSecond(second).atZone(zone);
            date.clear();
            date.two(t.getDayOfMonth()).put('/').put(MONTHS[t.getMonthValue() - 1]).put('/').put(t.getYear())
                .put(':').two(t.getHour()).put(':').two(t.getMinute()).put(':').two(t.getSecond());
            dateSecond = second;
        }
        out.put(date).put('.').three((int) Math.floorMod(epochMs, 1000L));
    }

    /** The literal as HAProxy prints it: dotted quad, or RFC 5952 IPv6 (Netty's formatter: compressed, no scope). */
    private void address(InetAddress a, AsciiLine out) {
        if (a == null) {
            out.put('-');
            return;
        }
        if (!a.equals(lastAddress)) { // equals compares the address bytes without copying them
            address.clear();
            address.put(NetUtil.toAddressString(a));
            lastAddress = a;
        }
        out.put(address);
    }
}
