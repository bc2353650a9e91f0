package dev.planetary.registry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {

    private static final long MS = 1_000_000;

    @Test
    void doublesFromTheInitialDelayUpToTheCap() {
        Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), 0);
        assertThat(b.delayNanos(0, () -> 0.5)).as("first reconnect after a healthy stream").isZero();
        assertThat(b.delayNanos(1, () -> 0.5)).isEqualTo(100 * MS);
        assertThat(b.delayNanos(2, () -> 0.5)).isEqualTo(200 * MS);
        assertThat(b.delayNanos(6, () -> 0.5)).isEqualTo(3_200 * MS);
        assertThat(b.delayNanos(7, () -> 0.5)).isEqualTo(5_000 * MS);
        assertThat(b.delayNanos(Integer.MAX_VALUE, () -> 0.5)).isEqualTo(5_000 * MS);
    }

    @Test
    void jitterTakesAtMostItsShareOff() {
        Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), 0.5);
        assertThat(b.delayNanos(1, () -> 0.0)).isEqualTo(100 * MS);
        assertThat(b.delayNanos(1, () -> 0.999_999)).isBetween(50 * MS, 51 * MS);
        assertThat(b.delayNanos(40, () -> 0.5)).isEqualTo(3_750 * MS);
    }

    @Test
    void badSettingsAreRefusedWithTheirName() {
        assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofSeconds(1), 0))
            .hasMessageContaining("initial backoff");
        assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), 0))
            .hasMessageContaining("max backoff");
        assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(1), 1.5))
            .hasMessageContaining("jitter");
    }
}
