package dev.planetary.proxy.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.core.config.FrontendLogConfig;
import dev.planetary.core.config.LogTarget;
import dev.planetary.core.config.Origin;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Procs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The log thread, its queue and its targets: socat as the UDP syslog server, as an operator would test it. */
class ConnectionLogTest {

    private static final Origin AT = new Origin("t.cfg", 1);
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-29T20:09:19.977Z"), ZoneOffset.UTC);

    @TempDir
    Path dir;

    private static LogTarget udp(int port, LogTarget.Format format, int len) {
        return new LogTarget(LogTarget.Kind.UDP, "127.0.0.1", port, len, format, 16, 7, AT);
    }

    @Test
    void udpSyslogReceivesRfc3164AndRfc5424LinesFromSocat() throws Exception {
        int p1 = Ports.pcpu();
        int p2 = Ports.pcpu();
        Path f1 = dir.resolve("3164.txt");
        Path f2 = dir.resolve("5424.txt");
        Procs.Running s1 = Procs.start(dir, null, List.of("socat", "-u", "UDP-RECV:" + p1 + ",bind=127.0.0.1",
            "OPEN:" + f1 + ",creat,append"));
        Procs.Running s2 = Procs.start(dir, null, List.of("socat", "-u", "UDP-RECV:" + p2 + ",bind=127.0.0.1",
            "OPEN:" + f2 + ",creat,append"));
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> listening(p1) && listening(p2));
            FrontendLogConfig fe = new FrontendLogConfig("pcpu", List.of(udp(p1, LogTarget.Format.RFC3164, 1024),
                udp(p2, LogTarget.Format.RFC5424, 1024)), true);
            long pid = ProcessHandle.current().pid();
            try (ConnectionLog log = ConnectionLog.start(List.of(fe), CLOCK)) {
                assertThat(log.logs("pcpu")).isTrue();
                assertThat(log.logs("other")).isFalse();
                log.offer(TcpLogFormatTest.haproxysExample());
                await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(f1) && Files.size(f1) > 0
                    && Files.exists(f2) && Files.size(f2) > 0);
            }
            String line = "127.0.0.1:55756 [29/Nov/2026:20:09:19.975] pcpu pcpu/s1 1/0/2 3 -- 1/1/0/0/0 0/0\n";
            assertThat(Files.readString(f1, StandardCharsets.US_ASCII))
                .isEqualTo("<134>Nov 29 20:09:19 planetary[" + pid + "]: " + line);
            assertThat(Files.readString(f2, StandardCharsets.US_ASCII))
                .isEqualTo("<134>1 2026-11-29T20:09:19.977000+00:00 - planetary " + pid + " - - " + line);
        } finally {
            Procs.kill(s1.process());
            Procs.kill(s2.process());
        }
    }

    /** socat's UDP socket is bound once binding the same port fails. */
    private static boolean listening(int port) {
        try (java.net.DatagramSocket s = new java.net.DatagramSocket(null)) {
            s.bind(new java.net.InetSocketAddress("127.0.0.1", port));
            return false;
        } catch (java.io.IOException e) {
            return true;
        }
    }

    @Test
    void fullQueueDropsAndCountsInsteadOfWaiting() throws Exception {
        // UDP to a port nobody reads: a datagram is sent (and lost) without waiting; stdout is tested end to end
        // with the jar (ConnectionLogIT), since raw writes to a forked test JVM's stdout disturb surefire
        FrontendLogConfig fe = new FrontendLogConfig("pcpu", List.of(udp(Ports.pcpu(), LogTarget.Format.RAW, 100)),
            true);
        ConnectionLog log = ConnectionLog.create(List.of(fe), 4, CLOCK);
        try {
            for (int i = 0; i < 10; i++) {
                log.offer(TcpLogFormatTest.haproxysExample()); // the writer is not running: 4 fit
            }
            assertThat(log.dropped()).isEqualTo(6);
            log.startWriter();
            await().atMost(Duration.ofSeconds(20)).until(() -> log.written() == 4);
        } finally {
            log.close();
        }
        assertThat(log.dropped()).isEqualTo(6);
        assertThat(log.written()).isEqualTo(4);
    }

    @Test
    void offUnlessConfiguredAndLevelBelowInfoGetsNothing() throws Exception {
        assertThat(ConnectionLog.start(List.of(new FrontendLogConfig("a", List.of(), true)), CLOCK)).isNull();
        LogTarget out = udp(Ports.pcpu(), LogTarget.Format.RAW, 1024);
        assertThat(ConnectionLog.start(List.of(new FrontendLogConfig("a", List.of(out), false)), CLOCK)).isNull();
        LogTarget notice = new LogTarget(LogTarget.Kind.UDP, "127.0.0.1", Ports.pcpu(), 1024, LogTarget.Format.RAW,
            16, 5, AT);
        try (ConnectionLog log = ConnectionLog.start(List.of(new FrontendLogConfig("a", List.of(notice), true)),
            CLOCK)) {
            assertThat(log.logs("a")).as("a 'notice' target gets no 'info' records").isFalse();
        }
    }

    @Test
    void lenCutsTheLineAsHaproxy() throws Exception {
        int port = Ports.pcpu();
        try (java.net.DatagramSocket rx = new java.net.DatagramSocket(new java.net.InetSocketAddress("127.0.0.1",
            port))) {
            // a plain UDP socket as the receiver: socat would split nothing, but this test needs the one datagram
            rx.setSoTimeout(20_000);
            try (ConnectionLog log = ConnectionLog.start(List.of(new FrontendLogConfig("pcpu",
                List.of(udp(port, LogTarget.Format.RAW, 80)), true)), CLOCK)) {
                ConnectionRecord r = TcpLogFormatTest.haproxysExample();
                r.backend = "pcpu-entrance-backend"; // 97 characters in all
                log.offer(r);
                java.net.DatagramPacket p = new java.net.DatagramPacket(new byte[2048], 2048);
                rx.receive(p);
                String got = new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
                assertThat(got).isEqualTo("127.0.0.1:55756 [29/Nov/2026:20:09:19.975] pcpu pcpu-entrance-backend/s1"
                    + " 1/0/2 3\n");
                assertThat(got.length()).isEqualTo(81);
            }
        }
    }
}
