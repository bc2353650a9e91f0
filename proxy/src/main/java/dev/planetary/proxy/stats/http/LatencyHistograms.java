package dev.planetary.proxy.stats.http;

import io.netty.util.concurrent.FastThreadLocal;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;

/**
 * Planetary's own latency figures, per backend: the time to connect to a server and the duration of a session, each
 * as an HdrHistogram. Each event loop records into a {@link SingleWriterRecorder} of its own (wait-free: no lock, no
 * CAS shared with another writer); a reader ({@code /metrics}) takes every recorder's interval histogram and adds it
 * to a cumulative one, so Prometheus sees the counts since start as its histograms require.
 */
public final class LatencyHistograms {

    /** Connect times are recorded in microseconds, up to a minute (no connect timeout is longer in practice). */
    static final long CONNECT_MAX_MICROS = TimeUnit.MINUTES.toMicros(1);
    /** Session durations are recorded in milliseconds, up to 30 days (longer sessions count as 30 days). */
    static final long SESSION_MAX_MILLIS = TimeUnit.DAYS.toMillis(30);
    /** Two significant digits: bucket edges are exact to 1%, and a histogram takes a few KB. */
    static final int DIGITS = 2;

    /** Prometheus bucket upper bounds (seconds) of the connect-time histogram. */
    static final double[] CONNECT_BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
        2.5, 5, 10};
    /** Prometheus bucket upper bounds (seconds) of the session-duration histogram: from a probe to a day-long ssh. */
    static final double[] SESSION_BUCKETS = {0.01, 0.1, 1, 10, 60, 300, 900, 3600, 14400, 86400};

    private static final AtomicInteger NEXT_THREAD = new AtomicInteger();
    private static final FastThreadLocal<Integer> THREAD = new FastThreadLocal<>() {
        @Override
        protected Integer initialValue() {
            return NEXT_THREAD.getAndIncrement();
        }
    };

    /** Copied on write (a reload's new backend): readers iterate it while event loops record. */
    private volatile Map<String, Backend> backends = Map.of();

    public LatencyHistograms(Collection<String> backendNames) {
        Map<String, Backend> m = new LinkedHashMap<>();
        for (String b : backendNames) {
            m.put(b, new Backend(b, true));
        }
        backends = Collections.unmodifiableMap(m);
    }

    /** The histograms of a backend, or null for an unknown name. */
    public Backend backend(String name) {
        return backends.get(name);
    }

    /** The histograms of a backend, made for a name a reload brought (a backend keeps its histograms by name). */
    public synchronized Backend backendFor(String name) {
        Backend b = backends.get(name);
        if (b == null) {
            Map<String, Backend> m = new LinkedHashMap<>(backends);
            b = new Backend(name, true);
            m.put(name, b);
            backends = Collections.unmodifiableMap(m);
        }
        return b;
    }

    Collection<Backend> backends() {
        return Collections.unmodifiableCollection(backends.values());
    }

    /** Records nothing: for the frontends of a proxy without a stats page (nothing reads them), and tests. */
    public static final Backend DISCARD = new Backend("-", false);

    /** One backend's two histograms. */
    public static final class Backend {
        final String name;
        private final boolean recording;
        final Series connect = new Series(CONNECT_MAX_MICROS);
        final Series session = new Series(SESSION_MAX_MILLIS);

        Backend(String name, boolean recording) {
            this.name = name;
            this.recording = recording;
        }

        /** Event loop: a server connection took {@code nanos} to establish. */
        public void connected(long nanos) {
            if (recording) {
                connect.record(TimeUnit.NANOSECONDS.toMicros(nanos));
            }
        }

        /** Event loop: a session that got a server lasted {@code nanos}. */
        public void sessionEnded(long nanos) {
            if (recording) {
                session.record(TimeUnit.NANOSECONDS.toMillis(nanos));
            }
        }
    }

    /**
     * One histogram: a recorder per writing thread (indexed by the thread's number, the array grown copy-on-write
     * the first time a new thread records here), and the reader's cumulative sum of their intervals.
     */
    static final class Series {
        private final long max;
        private volatile SingleWriterRecorder[] recorders = new SingleWriterRecorder[0];
        private final Histogram total;

        Series(long max) {
            this.max = max;
            this.total = new Histogram(max, DIGITS);
        }

        void record(long value) {
            int t = THREAD.get();
            SingleWriterRecorder[] rs = recorders;
            SingleWriterRecorder r = t < rs.length ? rs[t] : null;
            if (r == null) {
                r = join(t); // once per (series, thread)
            }
            r.recordValue(Math.min(Math.max(0, value), max));
        }

        /** A thread's first record here: its recorder, in a copy of the table (a lock, once per thread). */
        private synchronized SingleWriterRecorder join(int t) {
            SingleWriterRecorder[] rs = recorders;
            if (t < rs.length && rs[t] != null) {
                return rs[t];
            }
            SingleWriterRecorder[] grown = java.util.Arrays.copyOf(rs, Math.max(rs.length, t + 1));
            grown[t] = new SingleWriterRecorder(max, DIGITS);
            recorders = grown;
            return grown[t];
        }

        /** Adds what every thread recorded since the last read to the total, and returns a copy of it. */
        synchronized Histogram read() {
            for (SingleWriterRecorder r : recorders) {
                if (r != null) {
                    total.add(r.getIntervalHistogram()); // a fresh interval each read: the reader allocates, not the loops
                }
            }
            return total.copy();
        }
    }
}
