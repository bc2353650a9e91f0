package dev.planetary.proxy.log;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.FrontendLogConfig;
import dev.planetary.core.config.LogTarget;
import dev.planetary.core.config.Origin;
import dev.planetary.proxy.testing.Ports;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
        /** Set when the test ends: the writer's sleeps end at once, so it never waits out a permit after close. */
        volatile boolean stopped;

        void park(long nanos) {
            if (stopped) {
                return;
            }
            asked.add(nanos);
            parked.release();
            try {
                permits.tryAcquire(30, TimeUnit.SECONDS); // bounded: a lost test does not hang the writer forever
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /**
         * Ends the test's writer: sleeps end at once from now on (set before the permits are released, so a writer
         * woken by them cannot use them all up and block again before {@code close()} stops it), then closes the log
         * and checks the writer thread is gone.
         */
        void stop(ConnectionLog log) {
            stopped = true;
            permits.release(1_000);
            log.close();
            assertThat(log.writerAlive()).as("the writer ended with close()").isFalse();
        }

        /** Waits until the writer is asleep for the {@code n}-th time. */
        void awaitParked(int n) throws InterruptedException {
            assertThat(parked.tryAcquire(n, 30, TimeUnit.SECONDS)).as("the writer went to sleep").isTrue();
        }
    }

    /** The start of {@link TcpLogFormatTest#haproxysExample()}'s line. */
    private static final String EXAMPLE_START = "127.0.0.1:55756 [29/Nov/2026:20:09:19.975] pcpu pcpu/s1 ";

    /** The next datagram, as text. */
    private static String receive(DatagramSocket rx) throws IOException {
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        rx.receive(p);
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
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
                w.stop(log);
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
                w.stop(log);
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
            // a larger buffer where the host allows it (net.core.rmem_max caps it); the reader below drains it anyway
            rx.setReceiveBufferSize(4 << 20);
            rx.bind(new InetSocketAddress("127.0.0.1", port));
            rx.setSoTimeout(20_000);
            // drained as it arrives, before the writer starts: 785 datagrams at once overflow a stock-size buffer
            List<String> received = Collections.synchronizedList(new ArrayList<>());
            Thread reader = new Thread(() -> {
                DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
                try {
                    for (int i = 0; i < n; i++) {
                        rx.receive(p);
                        received.add(new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII));
                    }
                } catch (IOException e) {
                    // timed out or closed: the assertion on the list says what is missing
                }
            }, "log-test-reader");
            reader.start();
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
                reader.join(30_000);
                assertThat(received).hasSize(n);
                for (int i = 0; i < n; i++) {
                    assertThat(received.get(i))
                        .startsWith("127.0.0.1:" + i + " [29/Nov/2026:20:09:19.975] pcpu pcpu/s1 ");
                }
            } finally {
                w.stop(log);
            }
        }
    }

    /** Review finding 5: a record the format cannot take must not end the writer (nothing would be written again). */
    @Test
    void aRecordWithoutABackendIsWrittenWithADashAndTheNextOneToo() throws Exception {
        int port = Ports.pcpu();
        Wakeups w = new Wakeups();
        try (DatagramSocket rx = new DatagramSocket(new InetSocketAddress("127.0.0.1", port))) {
            rx.setSoTimeout(20_000);
            ConnectionLog log = ConnectionLog.create(List.of(udp(port)), 1024, CLOCK, w::park);
            try {
                ConnectionRecord odd = TcpLogFormatTest.haproxysExample();
                odd.backend = null;
                log.offer(odd);
                log.offer(TcpLogFormatTest.haproxysExample());
                log.startWriter();
                assertThat(receive(rx)).startsWith("127.0.0.1:55756 [29/Nov/2026:20:09:19.975] pcpu -/s1 ");
                assertThat(receive(rx)).startsWith(EXAMPLE_START);
            } finally {
                w.stop(log);
            }
        }
    }

    /** Any other failure while a record is made is counted as that record's lost line, and the writer goes on. */
    @Test
    void aFailureWhileMakingALineLosesThatLineOnly() throws Exception {
        int port = Ports.pcpu();
        Wakeups w = new Wakeups();
        // the clock fails once, at the first record's header, then works
        AtomicInteger reads = new AtomicInteger();
        Clock failingOnce = new Clock() {
            @Override
            public ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(ZoneId zone) {
                throw new UnsupportedOperationException();
            }

            @Override
            public Instant instant() {
                if (reads.getAndIncrement() == 0) {
                    throw new IllegalStateException("test: the clock fails once");
                }
                return CLOCK.instant();
            }
        };
        try (DatagramSocket rx = new DatagramSocket(new InetSocketAddress("127.0.0.1", port))) {
            rx.setSoTimeout(20_000);
            ConnectionLog log = ConnectionLog.create(List.of(udp(port)), 1024, failingOnce, w::park);
            try {
                log.offer(TcpLogFormatTest.haproxysExample());
                log.startWriter();
                w.awaitParked(1);
                log.offer(TcpLogFormatTest.haproxysExample());
                w.permits.release();
                assertThat(receive(rx)).startsWith(EXAMPLE_START);
                w.awaitParked(1);
                assertThat(log.written()).isEqualTo(1);
                assertThat(log.failed()).as("the first record's line, lost").isEqualTo(1);
            } finally {
                w.stop(log);
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
