package dev.planetary.proxy.stats;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Per-thread counters, HAProxy's freq_ctr and swrate, with time as an argument. */
class CountersTest {

    private static final long S = FreqCounter.SECOND;

    @Test
    void eachThreadCountsInItsOwnSlotAndTheSumIsExact() throws Exception {
        Counters c = new Counters();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            threads.add(new Thread(() -> {
                long[] slot = c.slot();
                for (int i = 0; i < 100_000; i++) {
                    Counters.increment(slot, Counters.STOT);
                    Counters.add(slot, Counters.BIN, 3);
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join(30_000);
        }
        assertThat(c.sum(Counters.STOT)).isEqualTo(400_000);
        assertThat(c.sum(Counters.BIN)).isEqualTo(1_200_000);
        assertThat(c.slot()).as("a thread keeps its slot").isSameAs(c.slot());
    }

    /**
     * An entity nobody has counted for yet (most servers of a big discovered swarm between two relists) holds no
     * table of its own; the first slot makes one with room for the threads known by then, a later thread with a
     * higher index grows it, and no count is lost in between.
     */
    @Test
    void theSlotTableIsMadeByTheFirstThreadThatCountsAndGrowsForLaterOnes() throws Exception {
        Counters idle = new Counters();
        assertThat(idle.slots()).isEmpty();
        assertThat(new Counters().slots()).as("shared by every idle entity").isSameAs(idle.slots());
        assertThat(idle.sum(Counters.STOT)).isZero();
        assertThat(idle.max(Counters.SMAX)).isZero();

        Counters c = new Counters();
        Counters.increment(c.slot(), Counters.STOT);
        int mine = ThreadSlot.index();
        assertThat(c.slots().length).isGreaterThan(mine).isLessThanOrEqualTo(Math.max(mine + 1, ThreadSlot.count()));
        // a thread that takes its index only now (higher than any before) grows the table
        long[] late = new long[1];
        Thread t = new Thread(() -> {
            Counters.add(c.slot(), Counters.STOT, 41);
            late[0] = ThreadSlot.index();
        });
        t.start();
        t.join(30_000);
        assertThat(c.slots().length).isGreaterThan((int) late[0]);
        assertThat(c.sum(Counters.STOT)).isEqualTo(42);
        // the table c counts in is its own: an entity nobody counted for still shares the empty one and reads zero
        assertThat(c.slots()).isNotSameAs(idle.slots());
        assertThat(new Counters().slots()).isSameAs(idle.slots()).isEmpty();
        assertThat(idle.sum(Counters.STOT)).as("counting for c leaves an idle entity at zero").isZero();
    }

    /**
     * Review finding 1: a thread that installs its first slot while another thread grows the table must not lose
     * it. Deterministic interleaving: the grower copies the table, then (hook) an already-indexed thread installs
     * its slot into the old table and counts, then the grower publishes its copy.
     */
    @Test
    void aSlotInstalledWhileAnotherThreadGrowsTheTableIsKept() throws Exception {
        // X takes its index now, by counting elsewhere; the main thread too
        Counters elsewhere = new Counters();
        CountDownLatch go = new CountDownLatch(1);
        CountDownLatch indexed = new CountDownLatch(1);
        CountDownLatch counted = new CountDownLatch(1);
        Counters c = new Counters();
        Thread x = new Thread(() -> {
            Counters.increment(elsewhere.slot(), Counters.STOT);
            indexed.countDown();
            try {
                if (go.await(30, TimeUnit.SECONDS)) {
                    Counters.increment(c.slot(), Counters.STOT);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                counted.countDown();
            }
        }, "counters-x");
        x.start();
        assertThat(indexed.await(30, TimeUnit.SECONDS)).isTrue();
        // the table is sized to the indices known now: X's fits, a later thread's does not
        Counters.increment(c.slot(), Counters.STOT);
        assertThat(c.slots().length).isGreaterThan(Math.max(ThreadSlot.index(), indexOf(x, elsewhere)));

        Thread y = new Thread(() -> {
            Counters.afterCopy = () -> {
                Counters.afterCopy = () -> { };
                go.countDown();
                // X either counts (the old race) or blocks on the monitor of a locked newSlot: wait for one
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (counted.getCount() > 0 && x.getState() != Thread.State.BLOCKED && System.nanoTime() < end) {
                    Thread.onSpinWait();
                }
            };
            Counters.increment(c.slot(), Counters.STOT);
        }, "counters-y");
        try {
            y.start();
            y.join(30_000);
            x.join(30_000);
        } finally {
            Counters.afterCopy = () -> { };
        }
        assertThat(x.isAlive() || y.isAlive()).isFalse();
        assertThat(c.sum(Counters.STOT)).as("main, X and Y each counted once").isEqualTo(3);
    }

    /** The index X holds: the one slot of {@code elsewhere} that is set. */
    private static int indexOf(Thread x, Counters elsewhere) {
        long[][] t = elsewhere.slots();
        for (int i = 0; i < t.length; i++) {
            if (t[i] != null) {
                return i;
            }
        }
        throw new AssertionError("no slot for " + x.getName());
    }

    @Test
    void rateSlidesOverTheLastSecondAsHaproxyFreqCtr() {
        Counters c = new Counters();
        long[] slot = c.slot();
        long t0 = 100 * S;
        for (int i = 0; i < 10; i++) {
            FreqCounter.increment(slot, t0 + i);
        }
        assertThat(FreqCounter.read(c, t0 + S / 2)).isEqualTo(10);
        // half into the next second: half of the previous second's 10 still counts
        assertThat(FreqCounter.read(c, t0 + S + S / 2)).isEqualTo(5);
        assertThat(FreqCounter.lastSecond(c, t0 + S + 1)).isEqualTo(10);
        assertThat(FreqCounter.read(c, t0 + 3 * S)).isZero();
        FreqCounter.increment(slot, t0 + 3 * S);
        assertThat(FreqCounter.read(c, t0 + 3 * S)).as("an old second is not carried over").isEqualTo(1);
    }

    @Test
    void slidingAverageIsTheMeanOfFewSamplesAndForgetsOldOnes() {
        Counters c = new Counters();
        long[] slot = c.slot();
        for (int i = 0; i < 4; i++) {
            Counters.increment(slot, Counters.TIME_SAMPLES);
            SlidingAverage.add(slot, Counters.CTIME, Counters.CTIME_MAX, 10 + i * 10); // 10 20 30 40
        }
        assertThat(SlidingAverage.read(c, Counters.CTIME, Counters.TIME_SAMPLES)).isEqualTo(25);
        assertThat(c.max(Counters.CTIME_MAX)).isEqualTo(40);
        for (int i = 0; i < 20 * SlidingAverage.SAMPLES; i++) {
            Counters.increment(slot, Counters.TIME_SAMPLES);
            SlidingAverage.add(slot, Counters.CTIME, Counters.CTIME_MAX, 7);
        }
        assertThat(SlidingAverage.read(c, Counters.CTIME, Counters.TIME_SAMPLES)).isBetween(7L, 8L);
    }

    @Test
    void headerIsHaproxy26sLine() {
        assertThat(StatColumns.HEADER).startsWith("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,")
            .contains(",agg_check_status,-,ssl_sess,").endsWith(",h1_spliced_bytes_out,");
        assertThat(StatColumns.count()).isEqualTo(128);
    }
}
