package dev.planetary.proxy.log;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;

/**
 * HAProxy's {@code option tcplog} line:
 * {@code %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq}, e.g.
 * {@code 127.0.0.1:55756 [29/Nov/2026:20:09:19.975] pcpu pcpu/s1 1/0/2 3 -- 1/1/0/0/0 0/0}.
 * Runs on the log thread only; {@code %t} is in the process's time zone, as HAProxy's.
 */
public final class TcpLogFormat {

    private static final String[] MONTHS = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
        "Nov", "Dec"};

    private final ZoneId zone;

    public TcpLogFormat(ZoneId zone) {
        this.zone = zone;
    }

    /** Appends the record's line (without newline) to {@code out}. */
    public void format(ConnectionRecord r, StringBuilder out) {
        address(r.clientIp, out);
        out.append(':').append(r.clientPort).append(" [");
        date(r.acceptEpochMs, out);
        out.append("] ").append(r.frontend).append(' ').append(r.backend).append('/')
            .append(r.server == null ? "<NOSRV>" : r.server).append(' ')
            .append(r.tw).append('/').append(r.tc).append('/').append(r.tt).append(' ')
            .append(r.bytesToClient).append(' ')
            .append(r.endCause).append(r.endPhase).append(' ')
            .append(r.actconn).append('/').append(r.feconn).append('/').append(r.beconn).append('/')
            .append(r.srvconn).append('/');
        if (r.redispatched) {
            out.append('+');
        }
        out.append(r.retries).append(' ').append(r.srvQueue).append('/').append(r.backendQueue);
    }

    /** {@code 29/Nov/2026:20:09:19.975}. */
    void date(long epochMs, StringBuilder out) {
        ZonedDateTime t = Instant.ofEpochMilli(epochMs).atZone(zone);
        two(t.getDayOfMonth(), out);
        out.append('/').append(MONTHS[t.getMonthValue() - 1]).append('/').append(t.getYear()).append(':');
        two(t.getHour(), out);
        out.append(':');
        two(t.getMinute(), out);
        out.append(':');
        two(t.getSecond(), out);
        out.append('.');
        int ms = (int) Math.floorMod(epochMs, 1000L);
        out.append((char) ('0' + ms / 100)).append((char) ('0' + ms / 10 % 10)).append((char) ('0' + ms % 10));
    }

    private static void two(int v, StringBuilder out) {
        out.append((char) ('0' + v / 10)).append((char) ('0' + v % 10));
    }

    /** The literal as HAProxy prints it: dotted quad, or RFC 5952 IPv6 (Netty's formatter: compressed, no scope). */
    private static void address(InetAddress a, StringBuilder out) {
        out.append(a == null ? "-" : NetUtil.toAddressString(a));
    }
}
