package dev.planetary.proxy.stats;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

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
        assertThat(idle.slots()).as("the shared empty table is never written").isEmpty();
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
