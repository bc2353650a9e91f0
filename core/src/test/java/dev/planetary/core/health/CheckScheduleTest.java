package dev.planetary.core.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The check schedule with a driven clock: no sleeping, exact times. */
class CheckScheduleTest {

    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void firstChecksAreSpreadOverUpToASecondAndRepeatable() {
        long now = 123_456_789_000L; // any clock origin, even one near overflow below
        Set<Long> delays = new HashSet<>();
        for (long seed = 0; seed < 2_000; seed++) {
            CheckSchedule s = new CheckSchedule(2_000 * MS, seed);
            long delay = s.firstDue(now) - now;
            assertThat(delay).isBetween(CheckSchedule.MIN_FIRST_DELAY_NANOS, CheckSchedule.MAX_FIRST_DELAY_NANOS);
            assertThat(new CheckSchedule(2_000 * MS, seed).firstDue(now)).isEqualTo(now + delay);
            delays.add(delay / (100 * MS));
        }
        assertThat(delays).as("every tenth of the second gets first checks").hasSize(10);
    }

    @Test
    void aShortInterBoundsTheFirstDelay() {
        for (long seed = 0; seed < 500; seed++) {
            long delay = new CheckSchedule(50 * MS, seed).firstDue(0);
            assertThat(delay).isBetween(MS, 50 * MS);
        }
    }

    @Test
    void nextCheckIsInterAfterThePreviousEnded() {
        CheckSchedule s = new CheckSchedule(300 * MS, 7);
        long clock = Long.MAX_VALUE - 100 * MS; // nanoTime may wrap: only differences count
        long due = s.firstDue(clock);
        clock = due + 40 * MS; // the check took 40 ms
        long next = s.nextDue(clock);
        assertThat(next - clock).isEqualTo(300 * MS);
        assertThat(CheckSchedule.delayNanos(next, clock)).isEqualTo(300 * MS);
        assertThat(CheckSchedule.delayNanos(next, next + MS)).as("late timer").isZero();
    }

    @Test
    void interMustBePositive() {
        assertThatThrownBy(() -> new CheckSchedule(0, 1)).isInstanceOf(IllegalArgumentException.class);
    }
}
