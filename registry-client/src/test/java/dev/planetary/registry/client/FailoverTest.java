package dev.planetary.registry.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fail-over decision alone: which URL next and how long to wait, with the jitter's randomness driven. */
class FailoverTest {

    private static final long MS = 1_000_000;
    private static final Backoff BACKOFF = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), 0.5);

    private static Failover of(int n) {
        List<Endpoint> urls = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            urls.add(Endpoint.of(URI.create("http://127.0.0." + (i + 1) + ":9000")));
        }
        return new Failover(urls, BACKOFF);
    }

    @Test
    void aFailedUrlHandsOverToTheNextAtOnceAndWaitsOnlyOnceEveryUrlFailed() {
        Failover f = of(3);
        assertThat(f.current().host()).isEqualTo("127.0.0.1");
        assertThat(f.failed(() -> 0)).as("the second URL is untried: no wait").isZero();
        assertThat(f.current().host()).isEqualTo("127.0.0.2");
        assertThat(f.failed(() -> 0)).isZero();
        assertThat(f.current().host()).isEqualTo("127.0.0.3");
        assertThat(f.failed(() -> 0)).as("a whole round failed: the first backoff").isEqualTo(100 * MS);
        assertThat(f.current().host()).as("round two starts again at the first").isEqualTo("127.0.0.1");
        f.failed(() -> 0);
        f.failed(() -> 0);
        assertThat(f.failed(() -> 0)).as("round two: doubled").isEqualTo(200 * MS);
        for (int i = 0; i < 3 * 20 + 2; i++) {
            f.failed(() -> 0);
        }
        assertThat(f.failed(() -> 0.999)).as("capped, less at most half of jitter").isBetween(2_500 * MS, 5_000 * MS);
    }

    @Test
    void aSuccessStaysOnThatUrlAndTheNextFailureMovesOnAtOnce() {
        Failover f = of(2);
        f.failed(() -> 0);
        assertThat(f.failed(() -> 0)).isEqualTo(100 * MS);
        f.failed(() -> 0); // now on the second
        f.succeeded();
        assertThat(f.current().host()).as("no flapping back to the preferred one").isEqualTo("127.0.0.2");
        assertThat(f.failures()).isZero();
        assertThat(f.failed(() -> 0)).as("the other one is untried since the success").isZero();
        assertThat(f.current().host()).isEqualTo("127.0.0.1");
    }

    @Test
    void oneUrlBacksOffFromTheFirstFailureAsBefore() {
        Failover f = of(1);
        assertThat(f.failed(() -> 0)).isEqualTo(100 * MS);
        assertThat(f.failed(() -> 0)).isEqualTo(200 * MS);
        assertThat(f.current().host()).isEqualTo("127.0.0.1");
    }

    @Test
    void retrySameKeepsTheUrlAndBacksOff() {
        Failover f = of(2);
        assertThat(f.retrySame(() -> 0)).isEqualTo(100 * MS);
        assertThat(f.retrySame(() -> 0)).isEqualTo(200 * MS);
        assertThat(f.current().host()).isEqualTo("127.0.0.1");
    }
}
