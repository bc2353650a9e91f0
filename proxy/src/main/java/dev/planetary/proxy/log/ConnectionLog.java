package dev.planetary.proxy.log;

import dev.planetary.core.config.FrontendLogConfig;
import dev.planetary.core.config.LogTarget;
import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;
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
     * The writer's sleep after a wake-up that found records. The event loops never wake it (a wake-up per close cost
     * more than writing the line: one context switch per connection on the event loop's core, with the old 50 us
     * first sleep): it drains the queue, writes, and sleeps. 2 ms keeps a burst small (about 35 datagrams at 17,000
     * connections a second, well inside a syslog daemon's default receive buffer, and a fraction of a millisecond
     * of the core) for 500 wake-ups a second under load.
     */
    static final long BUSY_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    /**
     * The longest sleep: wake-ups that find nothing double the sleep up to this, so an idle log costs 20 wake-ups a
     * second and a line waits at most this plus the time to write the lines before it: the stated bound is 100 ms.
     */
    static final long IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /**
     * Records written per reading of the clock: the syslog header's time is read once per this many lines (a drain
     * of a full queue still takes a fresh time every few hundred microseconds).
     */
    static final int BATCH = 256;

    private final MpscArrayQueue<ConnectionRecord> queue;
    private final LongAdder dropped = new LongAdder();
    private final LongAdder written = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final Map<String, List<LogSink>> sinksByFrontend = new HashMap<>();
    private final List<LogSink> sinks = new ArrayList<>();
    private final TcpLogFormat format;
    private final SyslogHeader header;
    private final Clock clock;
    /** How the writer sleeps: {@code LockSupport::parkNanos}; tests record the sleeps asked. */
    private final LongConsumer parker;
    private final Thread thread;
    private volatile boolean running = true;

    private ConnectionLog(List<FrontendLogConfig> frontends, int capacity, Clock clock, LongConsumer parker)
        throws IOException {
        this.queue = new MpscArrayQueue<>(capacity);
        this.clock = clock;
        this.parker = parker;
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
        return create(frontends, capacity, clock, LockSupport::parkNanos);
    }

    /** As {@link #create(List, int, Clock)}, the writer sleeping through {@code parker} (nanoseconds). */
    static ConnectionLog create(List<FrontendLogConfig> frontends, int capacity, Clock clock, LongConsumer parker)
        throws IOException {
        if (frontends.stream().noneMatch(FrontendLogConfig::enabled)) {
            return null;
        }
        return new ConnectionLog(frontends.stream().filter(FrontendLogConfig::enabled).toList(), capacity, clock,
            parker);
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

    /** Lines lost to a failure: a target's write error, or a record the writer could not make a line of. */
    public long failed() {
        return failed.sum();
    }

    /** True while the writer thread runs (tests check {@link #close()} ended it). */
    boolean writerAlive() {
        return thread.isAlive();
    }

    private void run() {
        AsciiLine message = new AsciiLine(LogTarget.MAX_LENGTH);
        AsciiLine line = new AsciiLine(LogTarget.MAX_LENGTH);
        long park = BUSY_PARK_NANOS;
        boolean found = false;
        while (true) {
            boolean stopping = !running; // read before the drain: what was offered before close() is written
            if (writeBatch(message, line) > 0) {
                found = true;
                continue;
            }
            flushSinks();
            if (stopping) {
                break;
            }
            park = found ? BUSY_PARK_NANOS : Math.min(IDLE_PARK_NANOS, park * 2);
            found = false;
            parker.accept(park);
        }
    }

    /** Writes up to {@link #BATCH} queued records under one reading of the clock; how many there were. */
    private int writeBatch(AsciiLine message, AsciiLine line) {
        long second = 0;
        int nanos = 0;
        boolean timed = false;
        int n = 0;
        int lines = 0;
        for (; n < BATCH; n++) {
            ConnectionRecord r = queue.poll();
            if (r == null) {
                break;
            }
            List<LogSink> mine = sinksByFrontend.get(r.frontend);
            if (mine == null) {
                continue;
            }
            try {
                if (!timed) {
                    Instant now = clock.instant();
                    second = now.getEpochSecond();
                    nanos = now.getNano();
                    timed = true;
                }
                message.clear();
                format.format(r, message);
            } catch (RuntimeException e) {
                // a record no line can be made of loses its lines, not the writer (which would never write again)
                failed.add(mine.size());
                failed("a record of frontend " + r.frontend, e);
                continue;
            }
            for (int i = 0; i < mine.size(); i++) {
                LogSink s = mine.get(i);
                try {
                    line.clear();
                    header.append(s.target, LogTarget.INFO, second, nanos, line);
                    line.put(message);
                    s.write(line.array(), Math.min(line.length(), s.target.maxLength()));
                    lines++;
                } catch (IOException | RuntimeException e) {
                    failed.increment();
                    failed(s.target, e);
                }
            }
        }
        if (lines > 0) {
            written.add(lines);
        }
        return n;
    }

    private void flushSinks() {
        for (int i = 0; i < sinks.size(); i++) { // no iterator: this runs at every wake-up
            LogSink s = sinks.get(i);
            try {
                s.flush();
            } catch (IOException | RuntimeException e) {
                failed(s.target, e);
            }
        }
    }

    private long lastFailureLog;

    /**
     * A target that fails (closed pipe, unreachable network), or a record no line can be made of, is reported at
     * most once a minute; lines are lost.
     */
    private void failed(Object what, Exception e) {
        long now = System.nanoTime();
        if (lastFailureLog == 0 || now - lastFailureLog > TimeUnit.MINUTES.toNanos(1)) {
            lastFailureLog = now;
            LOG.warn("connection log: writing {} failed: {}", what, e.toString());
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
