package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.proxy.stats.Counters;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The start-up warm-up runs the per-connection counting code once the listeners are open, on a scratch slot: every
 * counter of a started proxy (frontend, backend, server, global) is still 0 after it, and the proxy then counts its
 * first connection as usual.
 */
class WarmupTest {

    private final Backends backends = new Backends();
    private Proxy proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
    }

    private int start() {
        int front = Ports.pcpu();
        proxy = Harness.start("""
            global
                nbthread 2
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            frontend fe
                bind 127.0.0.1:%d
                default_backend be
            backend be
                server s1 127.0.0.1:%d
            """.formatted(front, backends.named("s1").port()));
        return front;
    }

    /** Every field of every counter of the proxy that is not 0, as "entity field=value". */
    private List<String> nonZero() {
        List<String> out = new ArrayList<>();
        check(out, "frontend fe", proxy.stats().frontend("fe").counters());
        check(out, "backend be", proxy.stats().backend("be").counters());
        check(out, "server be/s1", proxy.stats().backend("be").serverIfPresent("s1").counters());
        check(out, "global", proxy.stats().global().counters());
        return out;
    }

    private static void check(List<String> out, String what, Counters c) {
        for (int f = 0; f < Counters.FIELDS; f++) {
            if (c.sum(f) != 0) {
                out.add(what + " field " + f + "=" + c.sum(f));
            }
        }
    }

    @Test
    void theWarmUpThreadRunsOnceListeningAndLeavesEveryCounterAt0() throws Exception {
        Warmup.start();
        int front = start();
        assertThat(Warmup.awaitCountersWarm(60, TimeUnit.SECONDS)).as("warm-up done").isTrue();
        assertThat(nonZero()).isEmpty();
        try (Socket c = Harness.connect(front)) {
            assertThat(Harness.readLine(c)).isEqualTo("s1");
        }
        assertThat(proxy.stats().frontend("fe").counters().sum(Counters.STOT)).as("the real count").isEqualTo(1);
    }

    @Test
    void theCountingWarmUpRunsItsRoundsOnScratchStateOnly() {
        start();
        assertThat(nonZero()).as("before").isEmpty();
        assertThat(Warmup.warmCounters(System.nanoTime() + TimeUnit.MINUTES.toNanos(1)))
            .isEqualTo(Warmup.COUNTER_ROUNDS);
        assertThat(Warmup.sink).as("the scratch slot counted").isNotZero();
        assertThat(nonZero()).as("after").isEmpty();
        assertThat(Warmup.warmCounters(System.nanoTime() - 1)).as("past its deadline: checked before the first round")
            .isZero();
    }
}
