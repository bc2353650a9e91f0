package dev.planetary.proxy.log;

import dev.planetary.core.config.FrontendLogConfig;
import dev.planetary.core.config.LogTarget;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.jctools.queues.MpscArrayQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection log ({@code log ...} with {@code option tcplog}): event loops hand each closed connection's
 * {@link ConnectionRecord} to a bounded lock-free queue ({@link #offer}: one CAS, never a wait); one thread of its
 * own formats the records in HAProxy's TCP format and writes them to the frontend's targets. When the queue is full
 * the record is dropped and counted ({@link #dropped()}, HAProxy's {@code haproxy_process_dropped_logs_total}), so a
 * slow disk or syslog never slows the traffic down. Off (no thread, no queue) unless a frontend asks for it.
 */
public final class ConnectionLog implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionLog.class);

    /**
     * Records the queue holds. 65,536 records (about 6 MB when full) absorb a burst of 65,536 closes while the
     * writer is stalled (a pipe not read for a moment, a syslog server's buffer full), far above the closes per
     * second a 2-core box sustains; beyond it records are dropped rather than memory grown.
     */
    public static final int QUEUE_CAPACITY = 65_536;
    /**
     * Longest sleep of the idle writer. The event loops never wake it (that would cost a system call per close):
     * it polls, backing off from 50 us to this, so an idle log costs about 100 wake-ups a second and a record waits
     * at most 10 ms.
     */
    static final long MAX_IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final long MIN_IDLE_PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

    private final MpscArrayQueue<ConnectionRecord> queue;
    private final LongAdder dropped = new LongAdder();
    private final LongAdder written = new LongAdder();
    private final Map<String, List<LogSink>> sinksByFrontend = new HashMap<>();
    private final List<LogSink> sinks = new ArrayList<>();
    private final TcpLogFormat format;
    private final SyslogHeader header;
    private final Clock clock;
    private final Thread thread;
    private volatile boolean running = true;

    private ConnectionLog(List<FrontendLogConfig> frontends, int capacity, Clock clock) throws IOException {
        this.queue = new MpscArrayQueue<>(capacity);
        this.clock = clock;
        this.format = new TcpLogFormat(clock.getZone());
        this.header = new SyslogHeader(clock.getZone(), ProcessHandle.current().pid());
        Map<LogTarget, LogSink> byTarget = new HashMap<>();
        try {
            for (FrontendLogConfig f : frontends) {
                List<LogSink> mine = new ArrayList<>();
                for (LogTarget t : f.targets()) {
                    if (t.level() < LogTarget.INFO) {
                        continue; // connection records are 'info': a target capped below it gets none
                    }
                    LogSink s = byTarget.get(t);
                    if (s == null) {
                        s = LogSink.open(t);
                        byTarget.put(t, s);
                        sinks.add(s);
                    }
                    mine.add(s);
                }
                if (!mine.isEmpty()) {
                    sinksByFrontend.put(f.frontend(), mine);
                }
            }
        } catch (IOException e) {
            closeSinks();
            throw e;
        }
        this.thread = new Thread(this::run, "planetary-log");
        this.thread.setDaemon(true);
    }

    /**
     * The log for the frontends that enable it, its thread started; null when none does.
     *
     * @throws IOException when a target cannot be opened (a UDP socket)
     */
    public static ConnectionLog start(List<FrontendLogConfig> frontends, Clock clock) throws IOException {
        return start(frontends, QUEUE_CAPACITY, clock);
    }

    static ConnectionLog start(List<FrontendLogConfig> frontends, int capacity, Clock clock) throws IOException {
        ConnectionLog log = create(frontends, capacity, clock);
        if (log != null) {
            log.startWriter();
        }
        return log;
    }

    /** The log without its writer running yet (tests fill the queue first); null when no frontend logs. */
    static ConnectionLog create(List<FrontendLogConfig> frontends, int capacity, Clock clock) throws IOException {
        if (frontends.stream().noneMatch(FrontendLogConfig::enabled)) {
            return null;
        }
        return new ConnectionLog(frontends.stream().filter(FrontendLogConfig::enabled).toList(), capacity, clock);
    }

    void startWriter() {
        thread.start();
    }

    /** True when {@code frontend}'s connections are logged (else the event loop need not fill a record). */
    public boolean logs(String frontend) {
        return sinksByFrontend.containsKey(frontend);
    }

    /** Event loop: hands a record over, or drops and counts it when the queue is full. Never blocks. */
    public void offer(ConnectionRecord r) {
        if (!queue.offer(r)) {
            dropped.increment();
        }
    }

    /** Records dropped because the queue was full. */
    public long dropped() {
        return dropped.sum();
    }

    /** Lines written (one per record per target). */
    public long written() {
        return written.sum();
    }

    private void run() {
        StringBuilder message = new StringBuilder(256);
        StringBuilder line = new StringBuilder(512);
        byte[] bytes = new byte[LogTarget.MAX_LENGTH];
        long park = MIN_IDLE_PARK_NANOS;
        while (running || !queue.isEmpty()) {
            ConnectionRecord r = queue.relaxedPoll();
            if (r == null) {
                flushSinks();
                if (!running) {
                    break;
                }
                LockSupport.parkNanos(park);
                park = Math.min(MAX_IDLE_PARK_NANOS, park * 2);
                continue;
            }
            park = MIN_IDLE_PARK_NANOS;
            List<LogSink> mine = sinksByFrontend.get(r.frontend);
            if (mine == null) {
                continue;
            }
            message.setLength(0);
            format.format(r, message);
            Instant now = clock.instant();
            for (LogSink s : mine) {
                line.setLength(0);
                header.append(s.target, LogTarget.INFO, now, line);
                line.append(message);
                int len = ascii(line, bytes, s.target.maxLength());
                try {
                    s.write(bytes, len);
                    written.increment();
                } catch (IOException | RuntimeException e) {
                    failed(s, e);
                }
            }
        }
        flushSinks();
    }

    /** The line's characters as bytes, cut at {@code max} as HAProxy's {@code len}; non-ASCII becomes '?'. */
    private static int ascii(CharSequence s, byte[] out, int max) {
        int n = Math.min(s.length(), Math.min(max, out.length));
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            out[i] = c < 0x20 || c > 0x7e ? (byte) '?' : (byte) c;
        }
        return n;
    }

    private void flushSinks() {
        for (LogSink s : sinks) {
            try {
                s.flush();
            } catch (IOException | RuntimeException e) {
                failed(s, e);
            }
        }
    }

    private long lastFailureLog;

    /** A target that fails (closed pipe, unreachable network) is reported at most once a minute; lines are lost. */
    private void failed(LogSink s, Exception e) {
        long now = System.nanoTime();
        if (lastFailureLog == 0 || now - lastFailureLog > TimeUnit.MINUTES.toNanos(1)) {
            lastFailureLog = now;
            LOG.warn("connection log: writing to {} failed: {}", s.target, e.toString());
        }
    }

    private void closeSinks() {
        for (LogSink s : sinks) {
            try {
                s.close();
            } catch (IOException e) {
                // closing at stop: nothing left to do with it
            }
        }
    }

    /** Writes what is queued, then stops the thread and closes the targets. */
    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        try {
            if (thread.isAlive()) {
                thread.join(TimeUnit.SECONDS.toMillis(5));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeSinks();
    }
}
