package dev.planetary.proxy;

import io.netty.channel.EventLoop;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SingleThreadIoEventLoop;
import io.netty.util.concurrent.Ticker;

import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;

/**
 * One event loop's time, read at most once per loop iteration: the first {@link #nanoTime()} after the loop wakes up
 * reads the source, later calls in the same iteration (every read of every connection on the loop) get that value.
 * A timer callback, which must not see a time earlier than the one it was scheduled for, asks {@link #fresh()}.
 *
 * <p>Confined to its loop's thread: no volatile, no lock. Values are in the source's time base ({@link Ticker}):
 * {@link System#nanoTime()} in production, an {@code EmbeddedChannel}'s frozen ticker in tests.
 *
 * <p>Why this hook: Netty 4.2 keeps no per-iteration time it would hand out. {@code IoHandler.run} waits for
 * readiness and runs the ready channels' reads in one call, so a wrapping handler has no point between the two;
 * {@code IoHandlerContext} carries deadlines, not the time; the executor's last execution time is protected and
 * written after the tasks; {@code EventLoop.ticker()} reads {@code System.nanoTime()} on every call. The protected
 * {@code SingleThreadIoEventLoop.runIo()} is called once per iteration, so the clock is marked stale there and the
 * first read after the wait takes the time. Measured (bench {@code LoopClockBenchmark}): about 96 ns for
 * {@code System.nanoTime()} on this kind of VM, 2.4 ns for a cached read.
 */
final class LoopClock {

    private final Ticker source;
    private final boolean cached;
    private long now;
    private boolean stale = true;

    /** @param cached false: every call reads the source (for loops that do not {@link #tick()}) */
    LoopClock(Ticker source, boolean cached) {
        this.source = source;
        this.cached = cached;
    }

    /** The time of this loop iteration. */
    long nanoTime() {
        if (stale) {
            now = source.nanoTime();
            stale = !cached;
        }
        return now;
    }

    /** The time now, which later calls in this iteration then share. */
    long fresh() {
        stale = true;
        return nanoTime();
    }

    /** A new loop iteration begins: the next read takes the time afresh. */
    void tick() {
        stale = true;
    }

    /** The clock of a channel's event loop: its own for our loops, an uncached one on the loop's ticker otherwise. */
    static LoopClock of(EventLoop loop) {
        return loop instanceof ClockedLoop c ? c.clock : new LoopClock(loop.ticker(), false);
    }

    /** Event loops that tick a {@link LoopClock} at the start of each I/O pass. */
    static final class Group extends MultiThreadIoEventLoopGroup {
        Group(int threads, ThreadFactory threadFactory, IoHandlerFactory factory) {
            super(threads, threadFactory, factory);
        }

        @Override
        protected ClockedLoop newChild(Executor executor, IoHandlerFactory factory, Object... args) {
            return new ClockedLoop(this, executor, factory);
        }
    }

    /**
     * Netty's loop runs {@code runIo()} (wait for readiness, then every ready channel's reads) and then its tasks, in
     * turn. Marking the clock stale before each pass makes the first read after the wait take the time once for the
     * whole pass and the tasks after it.
     */
    static final class ClockedLoop extends SingleThreadIoEventLoop {
        final LoopClock clock = new LoopClock(Ticker.systemTicker(), true);

        ClockedLoop(IoEventLoopGroup parent, Executor executor, IoHandlerFactory factory) {
            super(parent, executor, factory);
        }

        @Override
        protected int runIo() {
            clock.tick();
            return super.runIo();
        }
    }
}
