package dev.planetary.proxy.stats;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The counters of one frontend, backend or server, kept per writing thread as HAProxy keeps per-thread counters:
 * each event loop has its own {@code long[]} slot and writes only that one (opaque writes: no lock, no CAS, no
 * fence), and a reader sums the slots. A slot is allocated once per (entity, thread), by that thread, the first time
 * it counts for the entity: it lands in that thread's allocation buffer, so no two threads' slots share a cache line,
 * and nothing is allocated per connection. The slot table is made by the first thread that counts here, with room
 * for the threads that have an index by then (every event loop: {@code Proxy} indexes them at start), and grows
 * (copy-on-write, under this object's lock with the install) only when a thread with a higher index first counts
 * here.
 *
 * <p>Open for {@link StateClock} (and through it {@link ServerStats}) only: a discovered swarm's server has counters,
 * a state clock and stats, and a relist of thousands makes them at once, so they are one object per server rather
 * than three (issue 8: every object a relist keeps is copied by the young collections during it). Nothing here is
 * overridden ({@link #slot()}, {@link #sum} and {@link #max} are final), so they compile as before.
 *
 * <p>Field indices are the constants below; the slot layout is an implementation detail of this package. Gauges
 * ({@link #CUR}, {@link #QCUR}) work per thread because a connection begins and ends on its own event loop: the
 * sum over threads is exact.
 */
public class Counters {

    /** Sessions (frontend: accepted; backend and server: given a server). */
    public static final int STOT = 0;
    /** Bytes from clients to servers, and back. */
    public static final int BIN = 1;
    public static final int BOUT = 2;
    /** Frontend: connections closed at once because too many already waited for a maxconn slot. */
    public static final int DREQ = 3;
    /** Frontend: connections to a pinned port whose server could not take them. */
    public static final int EREQ = 4;
    /** Failed connects, and sessions for which no server was usable (backend). */
    public static final int ECON = 5;
    /** Server side reset. */
    public static final int ERESP = 6;
    /** Connect retries, and those of them that went to another server (redispatch). */
    public static final int WRETR = 7;
    public static final int WREDIS = 8;
    /** Sessions ended by the client's reset, by the server's reset. */
    public static final int CLI_ABRT = 9;
    public static final int SRV_ABRT = 10;
    /** Connect attempts (HAProxy's {@code connect}). */
    public static final int CONNECT = 11;
    /** Gauges per thread: sessions in the backend (backend), connections waiting in the backend's queue. */
    public static final int CUR = 12;
    public static final int QCUR = 13;
    /** Highest current-sessions value this thread saw when it took a slot (frontend, server). */
    public static final int SMAX = 14;
    /** Idle timeouts (client or server side): not a column of HAProxy's, ours. */
    public static final int TIMEOUTS = 15;
    /** Queue timeouts. */
    public static final int QTIMEOUTS = 16;
    /** Sliding sums of queue, connect and total times in ms ({@link SlidingAverage}), their maxima, samples. */
    public static final int QTIME = 17;
    public static final int CTIME = 18;
    public static final int TTIME = 19;
    public static final int QTIME_MAX = 20;
    public static final int CTIME_MAX = 21;
    public static final int TTIME_MAX = 22;
    /** Samples taken into the time averages (connects for ctime/qtime; ended sessions for ttime). */
    public static final int TIME_SAMPLES = 23;
    public static final int TTIME_SAMPLES = 24;
    /** When this thread last gave the entity a session (nanoTime), 0 never. */
    public static final int LAST_SESS = 25;
    /** Session rate over the last second ({@link FreqCounter}): the second, its count, the previous one's. */
    public static final int RATE_SEC = 26;
    public static final int RATE_CUR = 27;
    public static final int RATE_PREV = 28;

    /** Backend: sessions for which no server was usable (shown in econ, as HAProxy counts them). */
    public static final int NOSRV = 29;
    /** Backend: connections that waited in the queue. */
    public static final int QUEUED = 30;

    /** The number of fields of a slot. */
    public static final int FIELDS = 31;

    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(long[][].class);

    /**
     * The table of an entity no thread has counted for yet, shared: most servers of a big discovered swarm never get
     * a connection between two relists, and a relist of thousands should not make a table for each (issue 8: every
     * object a relist keeps is copied by the young collections during it). The first slot sizes the table.
     */
    private static final long[][] NONE = new long[0][];

    /** Written only in {@link #newSlot}, under the lock; read without it. */
    private volatile long[][] table = NONE;

    /** Test hook: run by a growing thread between copying the table and publishing the copy. */
    static Runnable afterCopy = () -> { };

    /** The calling thread's slot, created on its first use. Only the calling thread may write it. */
    public final long[] slot() {
        int i = ThreadSlot.index();
        long[][] t = table;
        if (i < t.length) {
            long[] s = (long[]) SLOTS.getAcquire(t, i);
            if (s != null) {
                return s;
            }
        }
        return newSlot(i);
    }

    /**
     * Makes the calling thread's slot, growing the table first if needed. Locked, because a grow copies the table: a
     * slot installed into the old table between the copy and the publication of the new one would be lost (review
     * finding 1). It runs once per (entity, thread), never per connection; {@link #slot()}'s fast path and the
     * readers take no lock.
     */
    private synchronized long[] newSlot(int i) {
        long[][] t = table;
        if (i >= t.length) {
            // room for every thread that has an index so far (the event loops, indexed at start): one grow, not one
            // per thread; later threads double it
            int size = t.length == 0 ? Math.max(i + 1, ThreadSlot.count()) : Math.max(i + 1, t.length * 2);
            long[][] bigger = java.util.Arrays.copyOf(t, size);
            afterCopy.run();
            table = bigger;
            t = bigger;
        }
        long[] s = (long[]) SLOTS.getAcquire(t, i);
        if (s == null) {
            s = new long[FIELDS];
            SLOTS.setRelease(t, i, s);
        }
        return s;
    }

    /**
     * Gives the calling thread its counter index now rather than at its first count. The proxy calls it on every event
     * loop at start, before traffic: the first slot of each entity then makes its table with room for all of them,
     * and tables do not grow in steady state.
     */
    public static void indexThisThread() {
        ThreadSlot.index();
    }

    /**
     * A slot of no entity, which no reader ever sums: for running the counting code on state nobody sees (the proxy's
     * start-up warm-up). It takes no thread index, so the tables of real entities are sized as without it.
     */
    public static long[] scratchSlot() {
        return new long[FIELDS];
    }

    /** Adds to a field of the caller's own slot. */
    public static void add(long[] slot, int field, long delta) {
        LONGS.setOpaque(slot, field, slot[field] + delta);
    }

    public static void increment(long[] slot, int field) {
        LONGS.setOpaque(slot, field, slot[field] + 1);
    }

    /** Raises a field of the caller's own slot to {@code value} if it is higher. */
    public static void max(long[] slot, int field, long value) {
        if (value > slot[field]) {
            LONGS.setOpaque(slot, field, value);
        }
    }

    public static void set(long[] slot, int field, long value) {
        LONGS.setOpaque(slot, field, value);
    }

    /** Sum of a field over every thread's slot. */
    public final long sum(int field) {
        long total = 0;
        for (long[] s : table) {
            if (s != null) {
                total += (long) LONGS.getOpaque(s, field);
            }
        }
        return total;
    }

    /** Highest value of a field over every thread's slot. */
    public final long max(int field) {
        long m = 0;
        for (long[] s : table) {
            if (s != null) {
                m = Math.max(m, (long) LONGS.getOpaque(s, field));
            }
        }
        return m;
    }

    /** The slots in force, for the readers of compound fields (rates, averages). */
    long[][] slots() {
        return table;
    }

    static long read(long[] slot, int field) {
        return (long) LONGS.getOpaque(slot, field);
    }
}
