package dev.planetary.bench.net;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The backends every target forwards to, on Netty epoll: {@code sink} servers read and drop everything (bulk),
 * {@code echo} servers write back what they read, flushed once per read batch (request/response, new connections,
 * idle connections). The same servers behind every target, so a difference between targets is the proxy's.
 */
public final class Backends implements AutoCloseable {

    private final EventLoopGroup group;
    private final List<Channel> listeners = new ArrayList<>();
    private final List<InetSocketAddress> sinks = new ArrayList<>();
    private final List<InetSocketAddress> echos = new ArrayList<>();
    /** Bytes the sinks have read. */
    public final LongAdder sunk = new LongAdder();

    public Backends(int threads, int sinkCount, int echoCount) {
        group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("bench-backend", true),
                EpollIoHandler.newFactory());
        try {
            for (int i = 0; i < sinkCount; i++) {
                sinks.add(bind(new Sink()));
            }
            for (int i = 0; i < echoCount; i++) {
                echos.add(bind(ECHO));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public List<InetSocketAddress> sinks() { return sinks; }
    public List<InetSocketAddress> echos() { return echos; }

    private InetSocketAddress bind(ChannelHandler handler) {
        Channel ch = new ServerBootstrap()
                .group(group)
                .channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel c) {
                        c.pipeline().addLast(handler);
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
        listeners.add(ch);
        return (InetSocketAddress) ch.localAddress();
    }

    @ChannelHandler.Sharable
    private final class Sink extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            sunk.add(b.readableBytes());
            b.release();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static final ChannelHandler ECHO = new Echo();

    @ChannelHandler.Sharable
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg, ctx.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    @Override
    public void close() {
        for (Channel l : listeners) {
            l.close();
        }
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
