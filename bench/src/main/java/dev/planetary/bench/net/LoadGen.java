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

/**
 * The idle-connections client of the harness: a Netty epoll client, the same for every target (the traffic figures
 * use wrk and planetary-load instead: {@code harness.LoadTools}). Client sockets are bound to rotating source addresses
 * 127.0.0.2.. so that many connections never exhaust one address's ephemeral ports (the port range itself is never
 * widened: it would collide with the proxies' listening ranges).
 */
public final class LoadGen implements AutoCloseable {

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
        /** Connections established (that got their echo). */
        public final LongAdder done = new LongAdder();
        public final LongAdder errors = new LongAdder();
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
