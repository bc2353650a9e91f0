package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Ticker;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/** The per-event-loop clock: one reading per loop iteration, and every loop of the proxy has one. */
class LoopClockTest {

    @Test
    void cachedClockKeepsItsReadingUntilTheNextIteration() {
        var ticker = Ticker.newMockTicker();
        LoopClock clock = new LoopClock(ticker, true);
        long t0 = clock.nanoTime();
        ticker.advance(5, TimeUnit.MILLISECONDS);
        assertThat(clock.nanoTime()).as("same iteration").isEqualTo(t0);
        clock.tick();
        assertThat(clock.nanoTime()).as("next iteration").isEqualTo(t0 + 5_000_000);
        ticker.advance(1, TimeUnit.MILLISECONDS);
        assertThat(clock.fresh()).isEqualTo(t0 + 6_000_000);
        assertThat(clock.nanoTime()).isEqualTo(t0 + 6_000_000);
    }

    @Test
    void uncachedClockReadsEveryTime() {
        var ticker = Ticker.newMockTicker();
        LoopClock clock = new LoopClock(ticker, false);
        long t0 = clock.nanoTime();
        ticker.advance(1, TimeUnit.MILLISECONDS);
        assertThat(clock.nanoTime()).isEqualTo(t0 + 1_000_000);
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"EPOLL", "NIO"})
    void channelsOfTheProxysLoopsGetTheirLoopsTickingClock(Transport transport) throws Exception {
        EventLoopGroup group = transport.newGroup(1, "clock-test");
        try {
            Channel ch = transport.newChannel();
            group.next().register(ch).syncUninterruptibly();
            EventLoop loop = ch.eventLoop();
            assertThat(loop).isInstanceOf(LoopClock.ClockedLoop.class);
            LoopClock clock = LoopClock.of(loop);
            assertThat(clock).isSameAs(((LoopClock.ClockedLoop) loop).clock);
            // Two iterations apart the clock moves on: the loop ticks it.
            AtomicReference<Long> first = new AtomicReference<>();
            loop.submit(() -> first.set(clock.nanoTime())).syncUninterruptibly();
            long second = loop.schedule(clock::nanoTime, 20, TimeUnit.MILLISECONDS).get(5, TimeUnit.SECONDS);
            assertThat(second - first.get()).as("ticked between iterations").isGreaterThanOrEqualTo(15_000_000L);
            ch.close().syncUninterruptibly();
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).syncUninterruptibly();
        }
    }
}
