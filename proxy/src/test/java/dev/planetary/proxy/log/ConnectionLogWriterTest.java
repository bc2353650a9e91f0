package dev.planetary.proxy.log;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.FrontendLogConfig;
import dev.planetary.core.config.LogTarget;
import dev.planetary.core.config.Origin;
import dev.planetary.proxy.testing.Ports;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The writer's schedule: it is never woken by the event loops, so a record waits for the writer's next wake-up, and
 * its sleeps are bounded: {@link ConnectionLog#BUSY_PARK_NANOS} after writing, doubling up to
 * {@link ConnectionLog#IDLE_PARK_NANOS} while idle. Its sleeps go through a parker the test holds, so the bound is
 * checked by driving the wake-ups, not by timing them.
 */
class ConnectionLogWriterTest {

    private static final Origin AT = new Origin("t.cfg", 1);
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-29T20:09:19.977Z"), ZoneOffset.UTC);
    /** The bound the README states for a line: written within 100 ms of its connection's close. */
    private static final long BOUND_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** A parker whose sleeps end when the test says (one permit per wake-up), recording what was asked. */
    private static final class Wakeups {
        final Semaphore permits = new Semaphore(0);
        final ConcurrentLinkedQueue<Long> asked = new ConcurrentLinkedQueue<>();
        final Semaphore parked = new Semaphore(0);

        void park(long nanos) {
            asked.add(nanos);
            parked.release();
            try {
                permits.tryAcquire(30, TimeUnit.SECONDS); // bounded: a lost test does not hang the writer forever
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** Waits until the writer is asleep for the {@code n}-th time. */
        void awaitParked(int n) throws InterruptedException {
            assertThat(parked.tryAcquire(n, 30, TimeUnit.SECONDS)).as("the writer went to sleep").isTrue();
        }
    }

    private static FrontendLogConfig udp(int port) {
        return new FrontendLogConfig("pcpu", List.of(new LogTarget(LogTarget.Kind.UDP, "127.0.0.1", port, 1024,
            LogTarget.Format.RAW, 16, 7, AT)), true);
    }

    @Test
    void aRecordOfferedWhileTheWriterSleepsLeavesAtItsNextWakeUpAndSleepsAreBounded() throws Exception {
        int port = Ports.pcpu();
        Wakeups w = new Wakeups();
        try (DatagramSocket rx = new DatagramSocket(new InetSocketAddress("127.0.0.1", port))) {
            rx.setSoTimeout(20_000);
            ConnectionLog log = ConnectionLog.create(List.of(udp(port)), 1024, CLOCK, w::park);
            try {
                log.startWriter();
                w.awaitParked(1); // nothing queued: asleep at once
                log.offer(TcpLogFormatTest.haproxysExample());
                assertThat(log.written()).as("the event loop does not wake the writer").isZero();
                w.permits.release(); // the sleep ends: the record is written in this wake-up
                DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
                rx.receive(p);
                assertThat(new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII))
                    .isEqualTo("127.0.0.1:55756 [29/Nov/2026:20:09:19.975] pcpu pcpu/s1 1/0/2 3 -- 1/1/0/0/0 0/0\n");
                w.awaitParked(1);
                assertThat(log.written()).isEqualTo(1);
            } finally {
                w.permits.release(1_000);
                log.close();
            }
        }
        assertThat(w.asked).as("idle at first, then busy after writing").startsWith(
            2 * ConnectionLog.BUSY_PARK_NANOS, ConnectionLog.BUSY_PARK_NANOS);
        assertThat(w.asked).allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(ConnectionLog.IDLE_PARK_NANOS));
        assertThat(ConnectionLog.IDLE_PARK_NANOS).isLessThan(BOUND_NANOS);
    }

    @Test
    void idleWakeUpsBackOffToTheLongestSleepAndAWrittenLineBringsTheShortOneBack() throws Exception {
        int port = Ports.pcpu();
        Wakeups w = new Wakeups();
        try (DatagramSocket rx = new DatagramSocket(new InetSocketAddress("127.0.0.1", port))) {
            rx.setSoTimeout(20_000);
            ConnectionLog log = ConnectionLog.create(List.of(udp(port)), 1024, CLOCK, w::park);
            try {
                log.startWriter();
                for (int i = 1; i <= 6; i++) {
                    w.awaitParked(1);
                    w.permits.release(); // an idle wake-up: nothing queued
                }
                w.awaitParked(1);
                log.offer(TcpLogFormatTest.haproxysExample());
                w.permits.release();
                rx.receive(new DatagramPacket(new byte[2048], 2048));
                w.awaitParked(1);
            } finally {
                w.permits.release(1_000);
                log.close();
            }
        }
        long busy = ConnectionLog.BUSY_PARK_NANOS;
        long idle = ConnectionLog.IDLE_PARK_NANOS;
        assertThat(w.asked).startsWith(2 * busy, 4 * busy, 8 * busy, 16 * busy, Math.min(idle, 32 * busy), idle,
            idle, busy);
    }

    @Test
    void aBacklogLargerThanABatchIsWrittenInOneWakeUpInOrder() throws Exception {
        int port = Ports.pcpu();
        int n = ConnectionLog.BATCH * 3 + 17;
        Wakeups w = new Wakeups();
        try (DatagramSocket rx = new DatagramSocket(null)) {
            rx.setReceiveBufferSize(4 << 20);
            rx.bind(new InetSocketAddress("127.0.0.1", port));
            rx.setSoTimeout(20_000);
            ConnectionLog log = ConnectionLog.create(List.of(udp(port)), 2048, CLOCK, w::park);
            try {
                for (int i = 0; i < n; i++) {
                    ConnectionRecord r = TcpLogFormatTest.haproxysExample();
                    r.clientPort = i;
                    log.offer(r);
                }
                log.startWriter();
                w.awaitParked(1); // all of it written before the first sleep
                assertThat(log.written()).isEqualTo(n);
                assertThat(w.asked).containsExactly(ConnectionLog.BUSY_PARK_NANOS);
                DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
                for (int i = 0; i < n; i++) {
                    rx.receive(p);
                    assertThat(new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII))
                        .startsWith("127.0.0.1:" + i + " [29/Nov/2026:20:09:19.975] pcpu pcpu/s1 ");
                }
            } finally {
                w.permits.release(1_000);
                log.close();
            }
        }
    }

    @Test
    void closeWritesWhatIsQueuedEvenWhileTheWriterSleeps() throws Exception {
        int port = Ports.pcpu();
        try (DatagramSocket rx = new DatagramSocket(new InetSocketAddress("127.0.0.1", port))) {
            rx.setSoTimeout(20_000);
            // the real parker: close() unparks the writer instead of waiting out its sleep
            ConnectionLog log = ConnectionLog.start(List.of(udp(port)), 1024, CLOCK);
            for (int i = 0; i < 3; i++) {
                log.offer(TcpLogFormatTest.haproxysExample());
            }
            log.close();
            assertThat(log.written()).isEqualTo(3);
            DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
            for (int i = 0; i < 3; i++) {
                rx.receive(p);
            }
        }
    }
}
