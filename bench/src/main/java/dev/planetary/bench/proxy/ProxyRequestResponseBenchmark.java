package dev.planetary.bench.proxy;

import dev.planetary.bench.AbstractBenchmark;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Request/response over 50 persistent connections, 64-byte messages echoed by the backend. Each invocation sends
 * one request on every connection (from the client event loop, in one task) and returns when all 50 responses are
 * in: ops/s counts responses. Latency (send to response, per request) goes into an HdrHistogram; p50/p99/p99.9 of
 * each iteration and of the whole trial are printed in the fork's output ({@code [latency] ...}).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ProxyRequestResponseBenchmark extends AbstractBenchmark {

    static final int CONNECTIONS = 50;
    static final int SIZE = 64;

    @State(Scope.Benchmark)
    public static class Clients {
        EventLoopGroup group;
        EventLoop loop;
        final Channel[] channels = new Channel[CONNECTIONS];
        final long[] sentAt = new long[CONNECTIONS];
        final AtomicInteger pending = new AtomicInteger();
        final Recorder latency = new Recorder(3);
        final Histogram trial = new Histogram(3);
        final ByteBuf msg = Unpooled.unreleasableBuffer(Unpooled.directBuffer(SIZE).writeZero(SIZE));
        volatile Thread waiter;
        String target;
        Runnable sendAll;

        @Setup(Level.Trial)
        public void open(ProxyTarget t) {
            target = t.target;
            group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("jmh-client", true),
                    EpollIoHandler.newFactory());
            loop = group.next();
            for (int i = 0; i < CONNECTIONS; i++) {
                int id = i;
                channels[i] = new Bootstrap().group(loop).channel(EpollSocketChannel.class)
                        .option(ChannelOption.TCP_NODELAY, true)
                        .handler(new ChannelInboundHandlerAdapter() {
                            int received;

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object m) {
                                ByteBuf b = (ByteBuf) m;
                                received += b.readableBytes();
                                b.release();
                                if (received >= SIZE) {
                                    received -= SIZE;
                                    latency.recordValue(System.nanoTime() - sentAt[id]);
                                    if (pending.decrementAndGet() == 0) {
                                        LockSupport.unpark(waiter);
                                    }
                                }
                            }
                        })
                        .connect(t.echo(i)).syncUninterruptibly().channel();
            }
            sendAll = () -> {
                for (int i = 0; i < CONNECTIONS; i++) {
                    sentAt[i] = System.nanoTime();
                    channels[i].writeAndFlush(msg.duplicate(), channels[i].voidPromise());
                }
            };
        }

        void round() {
            waiter = Thread.currentThread();
            pending.set(CONNECTIONS);
            loop.execute(sendAll);
            while (pending.get() > 0) {
                LockSupport.parkNanos(this, 100_000);
            }
        }

        @TearDown(Level.Iteration)
        public void iteration() {
            Histogram h = latency.getIntervalHistogram();
            trial.add(h);
            print("iteration", h);
        }

        @TearDown(Level.Trial)
        public void close() {
            print("trial", trial);
            for (Channel c : channels) {
                c.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        }

        private void print(String what, Histogram h) {
            System.out.printf(Locale.ROOT, "%n[latency] %s %s: n=%d p50=%.1f us p99=%.1f us p99.9=%.1f us max=%.1f us%n",
                    target, what, h.getTotalCount(), h.getValueAtPercentile(50) / 1e3,
                    h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3);
        }
    }

    @Benchmark
    @OperationsPerInvocation(CONNECTIONS)
    public void requestResponse(Clients c) {
        c.round();
    }
}
