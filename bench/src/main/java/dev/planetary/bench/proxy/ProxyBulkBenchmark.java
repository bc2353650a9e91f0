package dev.planetary.bench.proxy;

import dev.planetary.bench.AbstractBenchmark;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Bulk upload through each target over 1 and over 8 connections: every operation writes 64 KiB with a blocking
 * write (one thread per connection). The {@code bytes} secondary result is the throughput in bytes/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ProxyBulkBenchmark extends AbstractBenchmark {

    static final int CHUNK = 64 * 1024;

    /** One connection per benchmark thread. */
    @State(Scope.Thread)
    public static class Connection {
        private static final AtomicInteger NEXT = new AtomicInteger();
        SocketChannel ch;
        final ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK);

        @Setup(Level.Trial)
        public void open(ProxyTarget t) throws IOException {
            ch = SocketChannel.open(t.bulk(NEXT.getAndIncrement()));
            ch.socket().setTcpNoDelay(true);
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            ch.close();
        }
    }

    /** Bytes written, reported by JMH as a rate (bytes/s). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bytes {
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
        }
    }

    @Benchmark
    @Threads(1)
    public void bulk1(Connection c, Bytes b) throws IOException {
        write(c, b);
    }

    @Benchmark
    @Threads(8)
    public void bulk8(Connection c, Bytes b) throws IOException {
        write(c, b);
    }

    private static void write(Connection c, Bytes b) throws IOException {
        ByteBuffer buf = c.chunk;
        buf.clear();
        while (buf.hasRemaining()) {
            c.ch.write(buf);
        }
        b.bytes += CHUNK;
    }
}
