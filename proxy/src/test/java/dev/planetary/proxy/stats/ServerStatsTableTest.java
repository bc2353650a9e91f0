package dev.planetary.proxy.stats;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60) // the race test below loops until its threads are done: a hang fails, never blocks the build
class ServerStatsTableTest {

    private static ServerStats make(String name) {
        return new ServerStats(name, 1, 0);
    }

    /**
     * Names of one hash code share a probe sequence: forgetting the first ones must not cut it (their slots become
     * GONE, never empty), and a name forgotten then made again is the new stats, not the old.
     */
    @Test
    void collidingNamesAreFoundPastForgottenOnesAndARemadeNameIsTheNewStats() {
        assertThat("Aa".hashCode()).isEqualTo("BB".hashCode());
        assertThat("AaAa".hashCode()).isEqualTo("BBBB".hashCode()).isEqualTo("AaBB".hashCode());
        ServerStatsTable t = new ServerStatsTable();
        ServerStats aa = t.computeIfAbsent("Aa", ServerStatsTableTest::make);
        ServerStats bb = t.computeIfAbsent("BB", ServerStatsTableTest::make);
        t.remove("Aa");
        assertThat(t.get("Aa")).isNull();
        assertThat(t.get("BB")).isSameAs(bb);
        ServerStats aaaa = t.computeIfAbsent("AaAa", ServerStatsTableTest::make);
        t.computeIfAbsent("BBBB", ServerStatsTableTest::make);
        ServerStats aabb = t.computeIfAbsent("AaBB", ServerStatsTableTest::make);
        t.remove("AaAa");
        t.remove("BBBB");
        assertThat(t.get("AaBB")).isSameAs(aabb);
        assertThat(t.get("BBBB")).isNull();
        assertThat(t.get("AaAa")).isNull();
        assertThat(t.computeIfAbsent("AaBB", n -> { throw new AssertionError("made twice: " + n); })).isSameAs(aabb);

        ServerStats again = t.computeIfAbsent("AaAa", ServerStatsTableTest::make);
        assertThat(again).isNotSameAs(aaaa);
        assertThat(t.get("AaAa")).isSameAs(again);
        ServerStats aaAgain = t.computeIfAbsent("Aa", ServerStatsTableTest::make);
        assertThat(aaAgain).isNotSameAs(aa);
        assertThat(t.get("Aa")).isSameAs(aaAgain);
        assertThat(t.get("BB")).isSameAs(bb);
        assertThat(t.get("AaBB")).isSameAs(aabb);
        assertThat(t.size()).isEqualTo(4);
    }

    @Test
    void addsFindsForgetsAndIteratesThroughGrowthAndShrinking() {
        ServerStatsTable t = new ServerStatsTable();
        List<ServerStats> made = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            made.add(t.computeIfAbsent("vm_" + i, ServerStatsTableTest::make));
        }
        assertThat(t.size()).isEqualTo(2_000);
        for (int i = 0; i < 2_000; i++) {
            assertThat(t.get("vm_" + i)).isSameAs(made.get(i));
            assertThat(t.computeIfAbsent("vm_" + i, n -> { throw new AssertionError("made twice: " + n); }))
                .isSameAs(made.get(i));
        }
        assertThat(t.get("nobody")).isNull();
        for (int i = 0; i < 2_000; i += 2) {
            t.remove("vm_" + i);
        }
        t.remove("nobody");
        assertThat(t.size()).isEqualTo(1_000);
        Set<String> seen = new HashSet<>();
        for (ServerStats s : t) {
            assertThat(seen.add(s.name())).isTrue();
        }
        assertThat(seen).hasSize(1_000).allMatch(n -> Integer.parseInt(n.substring(3)) % 2 == 1);
        for (int i = 0; i < 2_000; i++) {
            assertThat(t.get("vm_" + i)).isEqualTo(i % 2 == 1 ? made.get(i) : null);
        }
        for (int i = 1; i < 2_000; i += 2) {
            t.remove("vm_" + i);
        }
        assertThat(t.size()).isZero();
        assertThat(t.iterator().hasNext()).isFalse();
        ServerStats again = t.computeIfAbsent("vm_1", ServerStatsTableTest::make);
        assertThat(again).isNotSameAs(made.get(1));
        assertThat(t.get("vm_1")).isSameAs(again);
    }

    /** Readers without the lock never miss a server present all along while others come and go (wholly different relists). */
    @Test
    void readersAlwaysFindServersThatStayWhileOthersComeAndGo() throws Exception {
        ServerStatsTable t = new ServerStatsTable();
        List<ServerStats> stay = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            stay.add(t.computeIfAbsent("stay_" + i, ServerStatsTableTest::make));
        }
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong misses = new AtomicLong();
        AtomicLong reads = new AtomicLong();
        List<Thread> readers = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            Thread th = new Thread(() -> {
                while (!done.get()) {
                    for (int i = 0; i < stay.size(); i++) {
                        if (t.get("stay_" + i) != stay.get(i)) {
                            misses.incrementAndGet();
                        }
                        reads.incrementAndGet();
                    }
                }
            });
            th.start();
            readers.add(th);
        }
        for (int round = 0; round < 30; round++) {
            for (int i = 0; i < 2_000; i++) {
                t.computeIfAbsent("r" + round + "_" + i, ServerStatsTableTest::make);
            }
            for (int i = 0; i < 2_000; i++) {
                t.remove("r" + round + "_" + i);
            }
        }
        done.set(true);
        for (Thread th : readers) {
            th.join(10_000);
        }
        assertThat(reads.get()).isPositive();
        assertThat(misses.get()).isZero();
        assertThat(t.size()).isEqualTo(200);
    }
}
