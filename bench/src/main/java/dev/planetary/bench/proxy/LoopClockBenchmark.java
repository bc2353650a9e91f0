package dev.planetary.bench.proxy;

import dev.planetary.bench.AbstractBenchmark;
import io.netty.util.concurrent.Ticker;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * What the relay pays for the time on every read: {@code System.nanoTime()} (before issue 12) against the proxy's
 * per-event-loop clock ({@code dev.planetary.proxy.LoopClock}: the first read of a loop iteration takes the time,
 * the others read a field). The clock's few lines are mirrored here because the bench module sees the proxy only as a
 * process; keep them in step.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
public class LoopClockBenchmark extends AbstractBenchmark {

    private final Ticker source = Ticker.systemTicker();
    private long now;
    private boolean stale = true;

    private long loopClockNanoTime() {
        if (stale) {
            now = source.nanoTime();
            stale = false;
        }
        return now;
    }

    /** Every read takes the time (the relay before). */
    @Benchmark
    public long systemNanoTime() {
        return System.nanoTime();
    }

    /** A read within an iteration that has already taken the time (every read but the first). */
    @Benchmark
    public long loopClockCachedRead() {
        return loopClockNanoTime();
    }

    /** The first read of an iteration: the tick at the start of runIo() and the read that takes the time. */
    @Benchmark
    public long loopClockFirstRead() {
        stale = true;
        return loopClockNanoTime();
    }
}
