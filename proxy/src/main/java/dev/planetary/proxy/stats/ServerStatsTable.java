package dev.planetary.proxy.stats;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.Function;

/**
 * A backend's {@link ServerStats} by server name: one open-addressing table of the stats themselves (the name is
 * theirs), read without a lock, written under this object's lock. It replaces a {@code ConcurrentHashMap}, whose
 * node per entry (32 bytes) plus table slot made a map entry cost half a server's stats: a relist of a whole swarm
 * makes thousands at once and the young collections during it copy them (issue 8). Here an entry is a table slot
 * of 4 bytes (compressed references) in a table a rebuild leaves a quarter to half full: 8-16 bytes per entry (down
 * to about 5 as it fills to three quarters, when it grows).
 *
 * <p><b>Reading without a lock.</b> A slot goes from empty to a stats object, and from that to {@link #GONE} when
 * its server is forgotten, never back to empty: a probe sequence a reader follows is never cut. Slots are written
 * with release and read with acquire; a table is filled before it is published (volatile), and a grown table is a
 * new one, so a reader sees either the old table (whose entries stay valid) or the whole new one. A reader that
 * misses a stats object being added meanwhile takes the lock ({@link #computeIfAbsent}) and finds it there.
 */
final class ServerStatsTable implements Iterable<ServerStats> {

    /** A forgotten server's slot: skipped by readers, dropped when the table is rebuilt. */
    private static final ServerStats GONE = new ServerStats("", 0, 0);
    private static final int MIN_SIZE = 16;
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(ServerStats[].class);

    private volatile ServerStats[] table = new ServerStats[MIN_SIZE];
    /** Guarded by this: slots not empty (stats and GONE), and stats alone. */
    private int used;
    private int live;

    /** The stats named {@code name}, or null. Any thread, no lock. */
    ServerStats get(String name) {
        ServerStats[] t = table;
        int mask = t.length - 1;
        for (int i = spread(name.hashCode()) & mask; ; i = (i + 1) & mask) {
            ServerStats s = (ServerStats) SLOTS.getAcquire(t, i);
            if (s == null) {
                return null;
            }
            if (s != GONE && (s.name() == name || s.name().equals(name))) {
                return s;
            }
        }
    }

    /** The stats named {@code name}, made by {@code make} (under the lock) if there are none. */
    synchronized ServerStats computeIfAbsent(String name, Function<String, ServerStats> make) {
        ServerStats s = get(name);
        if (s != null) {
            return s;
        }
        s = make.apply(name);
        if ((used + 1) * 4 > table.length * 3) {
            rebuild(live + 1);
        }
        insert(table, s);
        used++;
        live++;
        return s;
    }

    /** Forgets the stats named {@code name}, if any. */
    synchronized void remove(String name) {
        ServerStats[] t = table;
        int mask = t.length - 1;
        for (int i = spread(name.hashCode()) & mask; ; i = (i + 1) & mask) {
            ServerStats s = t[i];
            if (s == null) {
                return;
            }
            if (s != GONE && s.name().equals(name)) {
                SLOTS.setRelease(t, i, GONE);
                live--;
                if (live * 4 < t.length && t.length > MIN_SIZE) {
                    rebuild(live); // most servers left: a smaller table, without their slots
                }
                return;
            }
        }
    }

    /** A new table for {@code count} stats, at most half full, with the live ones; published whole. */
    private void rebuild(int count) {
        int size = Math.max(MIN_SIZE, Integer.highestOneBit(Math.max(1, count * 2 - 1)) << 1);
        ServerStats[] next = new ServerStats[size];
        for (ServerStats s : table) {
            if (s != null && s != GONE) {
                insert(next, s);
            }
        }
        used = live;
        table = next; // filled, then published: see the class comment
    }

    private static void insert(ServerStats[] t, ServerStats s) {
        int mask = t.length - 1;
        int i = spread(s.name().hashCode()) & mask;
        while (t[i] != null) {
            i = (i + 1) & mask;
        }
        SLOTS.setRelease(t, i, s);
    }

    private static int spread(int h) {
        h *= 0x9E3779B9;
        return h ^ (h >>> 16);
    }

    /** The stats in the table at the moment of the call (weakly consistent, as a concurrent map's view). */
    @Override
    public Iterator<ServerStats> iterator() {
        ServerStats[] t = table;
        return new Iterator<>() {
            private int i;
            private ServerStats next = advance();

            private ServerStats advance() {
                while (i < t.length) {
                    ServerStats s = (ServerStats) SLOTS.getAcquire(t, i++);
                    if (s != null && s != GONE) {
                        return s;
                    }
                }
                return null;
            }

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public ServerStats next() {
                ServerStats s = next;
                if (s == null) {
                    throw new NoSuchElementException();
                }
                next = advance();
                return s;
            }
        };
    }

    /** Stats in the table (for tests). */
    synchronized int size() {
        return live;
    }
}
