package dev.planetary.bench.net;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The load generator: a Netty epoll client, the same for every target. Each load is open-ended (runs until
 * stopped): the caller warms up, then reads counters across a measured window. Client sockets are bound to
 * rotating source addresses 127.0.0.2.. so that many connections and TIME_WAITs never exhaust one address's
 * ephemeral ports (the port range itself is never widened: it would collide with the proxies' listening ranges).
 */
public final class LoadGen implements AutoCloseable {

    /** Bulk write size: large enough that the syscall count per byte is the proxy's, not ours. */
    public static final int CHUNK = 64 * 1024;

    private final EventLoopGroup group;
    private final Bootstrap base;
    private final InetAddress[] sources;
    private final AtomicInteger nextSource = new AtomicInteger();

    public LoadGen(int threads, int sourceAddresses) {
        group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("bench-client", true),
                EpollIoHandler.newFactory());
        base = new Bootstrap().group(group).channel(EpollSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 * 1024, 1024 * 1024));
        sources = new InetAddress[Math.max(1, sourceAddresses)];
        for (int i = 0; i < sources.length; i++) {
            try {
                sources[i] = InetAddress.getByAddress(new byte[]{127, 0, (byte) ((i + 2) >> 8), (byte) (i + 2)});
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private ChannelFuture connect(InetSocketAddress remote, io.netty.channel.ChannelHandler h) {
        InetAddress src = sources[Math.floorMod(nextSource.getAndIncrement(), sources.length)];
        return base.clone().handler(h).connect(remote, new InetSocketAddress(src, 0));
    }

    /** A running load: counters the caller samples, and a stop. */
    public abstract static class Load implements AutoCloseable {
        volatile boolean running = true;
        final Queue<Channel> channels = new ConcurrentLinkedQueue<>();
        /** Completed units: bytes for bulk, responses for request/response and new connections. */
        public final LongAdder done = new LongAdder();
        public final LongAdder errors = new LongAdder();
        /** Latency in nanoseconds of each response or connection (not for bulk). */
        public final Recorder latency = new Recorder(3);
        /** The shared message this load writes (as unreleasable duplicates); released when the load closes. */
        private ByteBuf message;

        /** A shared, never-released-by-writes view of a new direct buffer of {@code size} zero bytes. */
        ByteBuf message(int size) {
            message = Unpooled.directBuffer(size).writeZero(size);
            return Unpooled.unreleasableBuffer(message);
        }

        void releaseMessage() {
            if (message != null) {
                message.release();
                message = null;
            }
        }

        @Override
        public void close() {
            running = false;
            List<ChannelFuture> closing = new ArrayList<>();
            for (Channel c : channels) {
                closing.add(c.close());
            }
            for (ChannelFuture f : closing) {
                f.awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
            releaseMessage();
        }

        /** Measures for {@code nanos}: the rate of {@link #done} per second and the latency histogram. */
        public Window measure(long nanos) throws InterruptedException {
            latency.getIntervalHistogram();
            long d0 = done.sum();
            long t0 = System.nanoTime();
            TimeUnit.NANOSECONDS.sleep(nanos);
            long d1 = done.sum();
            long t1 = System.nanoTime();
            Histogram h = latency.getIntervalHistogram();
            return new Window((d1 - d0) * 1e9 / (t1 - t0), d1 - d0, t1 - t0, h, errors.sum());
        }
    }

    /** One measured window. */
    public record Window(double perSecond, long count, long nanos, Histogram latency, long errorsSoFar) {
    }

    // ---- bulk: each connection writes 64 KiB chunks as fast as the target takes them ----------------------------

    public Load bulk(List<InetSocketAddress> remotes, int conns) {
        Load load = new Load() { };
        ByteBuf chunk = load.message(CHUNK);
        ChannelFutureListener counted = f -> {
            if (f.isSuccess()) {
                load.done.add(CHUNK);
            }
        };
        openEach(load, remotes, conns, () -> new Failing(load) {
                @Override
                public void channelActive(ChannelHandlerContext ctx) {
                    pump(ctx.channel());
                }

                @Override
                public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                    pump(ctx.channel());
                }

                private void pump(Channel ch) {
                    while (load.running && ch.isWritable()) {
                        ch.write(chunk.duplicate()).addListener(counted);
                    }
                    ch.flush();
                }

                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ((ByteBuf) msg).release();
                }
            });
        return load;
    }

    // ---- request/response over persistent connections: closed loop, one request outstanding per connection ----

    public Load requestResponse(List<InetSocketAddress> remotes, int conns, int size) {
        Load load = new Load() { };
        ByteBuf msg = load.message(size);
        openEach(load, remotes, conns, () -> new Failing(load) {
                long sentAt;
                int received;

                @Override
                public void channelActive(ChannelHandlerContext ctx) {
                    send(ctx);
                }

                private void send(ChannelHandlerContext ctx) {
                    sentAt = System.nanoTime();
                    ctx.writeAndFlush(msg.duplicate(), ctx.voidPromise());
                }

                @Override
                public void channelRead(ChannelHandlerContext ctx, Object m) {
                    ByteBuf b = (ByteBuf) m;
                    received += b.readableBytes();
                    b.release();
                    if (received >= size) {
                        received -= size;
                        load.latency.recordValue(System.nanoTime() - sentAt);
                        load.done.increment();
                        if (load.running) {
                            send(ctx);
                        }
                    }
                }
            });
        return load;
    }

    /** Opens {@code conns} connections spread over the remotes, each with a handler of its own, kept in the load. */
    private void openEach(Load load, List<InetSocketAddress> remotes, int conns,
                          java.util.function.Supplier<ChannelInboundHandlerAdapter> handler) {
        for (int i = 0; i < conns; i++) {
            load.channels.add(connect(remotes.get(i % remotes.size()), handler.get()).channel());
        }
    }

    /** A load's connection handler for which any exception is an error of the load and ends the connection. */
    private abstract static class Failing extends ChannelInboundHandlerAdapter {
        private final Load load;

        Failing(Load load) {
            this.load = load;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            load.errors.increment();
            ctx.close();
        }
    }

    // ---- new connections: connect, one request/response, close; concurrency workers in a closed loop ----------

    public Load newConnections(List<InetSocketAddress> remotes, int concurrency, int size) {
        Load load = new Load() {
            @Override
            public void close() {
                running = false; // workers stop at their next connection; their channels close themselves
                try {
                    TimeUnit.MILLISECONDS.sleep(500);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        ByteBuf msg = load.message(size);
        AtomicInteger seq = new AtomicInteger();
        AtomicInteger workers = new AtomicInteger(concurrency);
        for (int i = 0; i < concurrency; i++) {
            oneConnection(load, remotes, seq, workers, msg, size);
        }
        return load;
    }

    private void oneConnection(Load load, List<InetSocketAddress> remotes, AtomicInteger seq, AtomicInteger workers,
                               ByteBuf msg, int size) {
        if (!load.running) {
            if (workers.decrementAndGet() == 0) {
                load.releaseMessage(); // the last worker has stopped: nobody writes the message any more
            }
            return;
        }
        long t0 = System.nanoTime();
        InetSocketAddress remote = remotes.get(Math.floorMod(seq.getAndIncrement(), remotes.size()));
        ChannelFuture f = connect(remote, new OneExchange(msg, size) {
            @Override
            void echoed(ChannelHandlerContext ctx) {
                load.latency.recordValue(System.nanoTime() - t0);
                load.done.increment();
                ctx.close();
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                if (!ok) {
                    load.errors.increment();
                }
                oneConnection(load, remotes, seq, workers, msg, size);
            }
        });
        f.addListener((ChannelFutureListener) cf -> {
            if (!cf.isSuccess()) {
                load.errors.increment();
                cf.channel().eventLoop().schedule(() -> oneConnection(load, remotes, seq, workers, msg, size), 1,
                        TimeUnit.MILLISECONDS);
            }
        });
    }

    // ---- idle connections: open n, each exchanges one small message, then stays open ----------------------------

    /**
     * Opens {@code n} connections (at most {@code parallel} handshakes at a time), each sending {@code size} bytes
     * and waiting for their echo, then left idle. Returns the load holding them; {@link Load#done} counts the ones
     * established; close it to close them all.
     */
    public Load idle(InetSocketAddress remote, int n, int size, int parallel, long timeoutNanos)
            throws InterruptedException {
        Load load = new Load() { };
        ByteBuf msg = load.message(size);
        Semaphore inFlight = new Semaphore(parallel);
        long deadline = System.nanoTime() + timeoutNanos;
        for (int i = 0; i < n; i++) {
            if (!inFlight.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                break;
            }
            ChannelFuture f = connect(remote, new OneExchange(msg, size) {
                @Override
                void echoed(ChannelHandlerContext ctx) {
                    load.done.increment();
                    inFlight.release();
                }

                @Override
                public void channelInactive(ChannelHandlerContext ctx) {
                    if (!ok) {
                        ok = true;
                        load.errors.increment();
                        inFlight.release();
                    }
                }
            });
            f.addListener((ChannelFutureListener) cf -> {
                if (!cf.isSuccess()) {
                    load.errors.increment();
                    inFlight.release();
                }
            });
            load.channels.add(f.channel());
        }
        inFlight.tryAcquire(parallel, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        return load;
    }

    /**
     * One connection's exchange: sends the message when connected, counts the echo, and calls {@link #echoed} once
     * all of it is back ({@code ok} is then true); subclasses say what the end of the connection means.
     */
    private abstract static class OneExchange extends ChannelInboundHandlerAdapter {
        private final ByteBuf msg;
        private final int size;
        private int received;
        boolean ok;

        OneExchange(ByteBuf msg, int size) {
            this.msg = msg;
            this.size = size;
        }

        abstract void echoed(ChannelHandlerContext ctx);

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(msg.duplicate(), ctx.voidPromise());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object m) {
            ByteBuf b = (ByteBuf) m;
            received += b.readableBytes();
            b.release();
            if (received >= size && !ok) {
                ok = true;
                echoed(ctx);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Channels still open in a load (for checks). */
    public static int open(Load load) {
        int n = 0;
        for (Channel c : load.channels) {
            if (c.isActive()) {
                n++;
            }
        }
        return n;
    }

    public static List<InetSocketAddress> loopback(List<Integer> ports) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (int p : ports) {
            out.add(new InetSocketAddress("127.0.0.1", p));
        }
        return out;
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
