package dev.planetary.core.connect;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Idle limits with the time passed in: the shorter side decides, fin limits replace plain ones once half-closed. */
class IdleDeadlinesTest {

    private static final long MS = 1_000_000L;
    private static final long T0 = Long.MAX_VALUE - 500 * MS; // nanoTime may wrap: comparisons must subtract

    @Test
    void noLimitsNeverExpire() {
        IdleDeadlines d = new IdleDeadlines(new IdleLimits(0, 0, 0, 0));
        d.activity(T0);
        assertThat(d.dueNanos()).isEqualTo(IdleDeadlines.NEVER);
        assertThat(d.expired(T0 + 1_000_000 * MS)).isFalse();
    }

    @Test
    void theShorterSideDecidesAndActivityPostponesIt() {
        IdleDeadlines d = new IdleDeadlines(new IdleLimits(400 * MS, 0, 30_000 * MS, 0));
        d.activity(T0);
        assertThat(d.dueNanos()).isEqualTo(T0 + 400 * MS);
        assertThat(d.expired(T0 + 399 * MS)).isFalse();
        d.activity(T0 + 300 * MS);
        assertThat(d.expired(T0 + 600 * MS)).isFalse();
        assertThat(d.expired(T0 + 700 * MS)).isTrue();
    }

    @Test
    void onlyOneSideLimited() {
        IdleDeadlines d = new IdleDeadlines(new IdleLimits(0, 0, 250 * MS, 0));
        d.activity(T0);
        assertThat(d.dueNanos()).isEqualTo(T0 + 250 * MS);
    }

    @Test
    void finLimitsApplyOnceThatSideIsHalfClosed() {
        IdleDeadlines d = new IdleDeadlines(new IdleLimits(30_000 * MS, 400 * MS, 30_000 * MS, 200 * MS));
        d.activity(T0);
        assertThat(d.dueNanos()).isEqualTo(T0 + 30_000 * MS);
        d.clientHalfClosed();
        assertThat(d.dueNanos()).isEqualTo(T0 + 400 * MS);
        d.serverHalfClosed();
        assertThat(d.dueNanos()).isEqualTo(T0 + 200 * MS);
    }

    @Test
    void aFinLimitOfZeroKeepsThePlainOne() {
        IdleDeadlines d = new IdleDeadlines(new IdleLimits(500 * MS, 0, 0, 0));
        d.activity(T0);
        d.clientHalfClosed();
        assertThat(d.dueNanos()).isEqualTo(T0 + 500 * MS);
    }

    @Test
    void tunnelReplacesClientAndServerBothWays() {
        IdleDeadlines shorter = new IdleDeadlines(new IdleLimits(30_000 * MS, 0, 30_000 * MS, 0, 400 * MS));
        shorter.activity(T0);
        assertThat(shorter.dueNanos()).as("tunnel shorter than both").isEqualTo(T0 + 400 * MS);

        IdleDeadlines longer = new IdleDeadlines(new IdleLimits(400 * MS, 0, 200 * MS, 0, 3_600_000 * MS));
        longer.activity(T0);
        assertThat(longer.dueNanos()).as("tunnel longer than both: they no longer apply")
            .isEqualTo(T0 + 3_600_000 * MS);
        assertThat(longer.expired(T0 + 3_599_999 * MS)).isFalse();

        IdleDeadlines alone = new IdleDeadlines(new IdleLimits(0, 0, 0, 0, 700 * MS));
        alone.activity(T0);
        assertThat(alone.dueNanos()).as("tunnel without client or server").isEqualTo(T0 + 700 * MS);
    }

    @Test
    void finLimitsStillApplyInATunnelOnceThatSideIsHalfClosed() {
        IdleDeadlines d = new IdleDeadlines(new IdleLimits(1_000 * MS, 400 * MS, 1_000 * MS, 0, 3_600_000 * MS));
        d.activity(T0);
        assertThat(d.dueNanos()).isEqualTo(T0 + 3_600_000 * MS);
        d.clientHalfClosed();
        assertThat(d.dueNanos()).as("client-fin, as HAProxy applies it in a tunnel").isEqualTo(T0 + 400 * MS);

        IdleDeadlines noFin = new IdleDeadlines(new IdleLimits(1_000 * MS, 0, 1_000 * MS, 0, 3_600_000 * MS));
        noFin.activity(T0);
        noFin.serverHalfClosed();
        assertThat(noFin.dueNanos()).as("no server-fin: the tunnel limit stays").isEqualTo(T0 + 3_600_000 * MS);
    }
}
