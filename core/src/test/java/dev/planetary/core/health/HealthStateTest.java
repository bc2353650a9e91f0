package dev.planetary.core.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.health.HealthState.Transition;
import org.junit.jupiter.api.Test;

class HealthStateTest {

    @Test
    void goesDownAfterFallConsecutiveFailuresOnly() {
        HealthState h = new HealthState(2, 3, true);
        assertThat(h.record(false)).isEqualTo(Transition.NONE);
        assertThat(h.record(false)).isEqualTo(Transition.NONE);
        assertThat(h.record(true)).isEqualTo(Transition.NONE); // streak broken
        assertThat(h.record(false)).isEqualTo(Transition.NONE);
        assertThat(h.record(false)).isEqualTo(Transition.NONE);
        assertThat(h.record(false)).isEqualTo(Transition.WENT_DOWN);
        assertThat(h.up()).isFalse();
    }

    @Test
    void comesBackAfterRiseConsecutiveSuccesses() {
        HealthState h = new HealthState(2, 3, false);
        assertThat(h.record(true)).isEqualTo(Transition.NONE);
        assertThat(h.record(false)).isEqualTo(Transition.NONE);
        assertThat(h.record(true)).isEqualTo(Transition.NONE);
        assertThat(h.record(true)).isEqualTo(Transition.WENT_UP);
        assertThat(h.up()).isTrue();
        assertThat(h.record(true)).isEqualTo(Transition.NONE);
    }
}
