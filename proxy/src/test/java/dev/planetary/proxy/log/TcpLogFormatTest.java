package dev.planetary.proxy.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** The tcplog line, character for character as HAProxy 2.6 printed it for the same connection. */
class TcpLogFormatTest {

    static ConnectionRecord haproxysExample() throws Exception {
        ConnectionRecord r = new ConnectionRecord();
        r.clientIp = InetAddress.getByName("127.0.0.1");
        r.clientPort = 55756;
        r.acceptEpochMs = Instant.parse("2026-11-29T20:09:19.975Z").toEpochMilli();
        r.frontend = "pcpu";
        r.backend = "pcpu";
        r.server = "s1";
        r.tw = 1;
        r.tc = 0;
        r.tt = 2;
        r.bytesToClient = 3;
        r.actconn = 1;
        r.feconn = 1;
        return r;
    }

    @Test
    void sameLineAsHaproxy() throws Exception {
        StringBuilder out = new StringBuilder();
        new TcpLogFormat(ZoneOffset.UTC).format(haproxysExample(), out);
        // from haproxy 2.6 -db with `option tcplog` (see the README's connection log section)
        assertThat(out).hasToString("127.0.0.1:55756 [29/Nov/2026:20:09:19.975] pcpu pcpu/s1 1/0/2 3 -- 1/1/0/0/0 0/0");
    }

    @Test
    void noServerRedispatchStateAndIpv6() throws Exception {
        ConnectionRecord r = haproxysExample();
        r.clientIp = InetAddress.getByName("::1");
        r.server = null;
        r.tc = -1;
        r.endCause = TerminationState.SERVER_ABORT;
        r.endPhase = TerminationState.CONNECT;
        r.retries = 3;
        r.redispatched = true;
        r.srvQueue = 2;
        r.backendQueue = 5;
        r.acceptEpochMs = Instant.parse("2026-01-02T03:04:05.006Z").toEpochMilli();
        StringBuilder out = new StringBuilder();
        new TcpLogFormat(ZoneId.of("UTC")).format(r, out);
        assertThat(out).hasToString("::1:55756 [02/Jan/2026:03:04:05.006] pcpu pcpu/<NOSRV> 1/-1/2 3 SC 1/1/0/0/+3 2/5");
        r.clientIp = InetAddress.getByName("2001:db8:0:0:0:0:2:1");
        StringBuilder six = new StringBuilder();
        new TcpLogFormat(ZoneId.of("UTC")).format(r, six);
        assertThat(six.toString()).startsWith("2001:db8::2:1:55756 [");
    }
}
