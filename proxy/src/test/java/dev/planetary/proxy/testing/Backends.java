package dev.planetary.proxy.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Test backends on loopback: real sockets, served by Netty on a small event loop group of their own.
 * Every server counts its accepted and live connections and can be stopped and restarted on the same port.
 */
public final class Backends implements AutoCloseable {

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());

    /** A running test backend. */
    public final class TestServer implements AutoCloseable {
        private final Supplier<ChannelInboundHandlerAdapter> handler;
        private final String name;
        private final boolean halfClose;
        private volatile Channel listener;
        private volatile int port;
        public final AtomicInteger accepted = new AtomicInteger();
        public final AtomicInteger live = new AtomicInteger();

        TestServer(String name, Supplier<ChannelInboundHandlerAdapter> handler, boolean halfClose) {
            this.name = name;
            this.handler = handler;
            this.halfClose = halfClose;
        }

        public String name() { return name; }
        public int port() { return port; }

        TestServer start(int wantedPort) {
            ServerBootstrap sb = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, halfClose)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted.incrementAndGet();
                        live.incrementAndGet();
                        ch.closeFuture().addListener(f -> live.decrementAndGet());
                        ch.pipeline().addLast(handler.get());
                    }
                });
            listener = sb.bind(new InetSocketAddress("127.0.0.1", wantedPort)).syncUninterruptibly().channel();
            port = ((InetSocketAddress) listener.localAddress()).getPort();
            return this;
        }

        /** Stops listening (live connections stay). */
        public void stop() {
            Channel l = listener;
            if (l != null) {
                l.close().syncUninterruptibly();
                listener = null;
            }
        }

        /** Listens again on the same port. */
        public void restart() {
            start(port);
        }

        @Override
        public void close() {
            stop();
        }
    }

    /** Echoes every byte; on the client's FIN, finishes writing and sends its own FIN. */
    public TestServer echo(String name) {
        return new TestServer(name, Echo::new, true).start(0);
    }

    /** Writes its name and a newline, then echoes (to see which server a client reached). */
    public TestServer named(String name) {
        return new TestServer(name, () -> new Named(name), true).start(0);
    }

    /** Replies "NAME:" + everything received once the client half-closes, then closes (for nc -N tests). */
    public TestServer replyAfterFin(String name) {
        return new TestServer(name, () -> new ReplyAfterFin(name), true).start(0);
    }

    /** Accepts and never writes nor closes, even after the client's FIN (it reads and drops). */
    public TestServer silent(String name) {
        return new TestServer(name, ChannelInboundHandlerAdapter::new, true).start(0);
    }

    /** Writes its name, then drops what it reads; closes when the client does (no half-close). */
    public TestServer greeter(String name) {
        return new TestServer(name, () -> new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                ctx.writeAndFlush(Unpooled.copiedBuffer(name + "\n", StandardCharsets.US_ASCII));
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
            }
        }, false).start(0);
    }

    /** Any handler; the server side allows half-closed connections. */
    public TestServer custom(String name, Supplier<ChannelInboundHandlerAdapter> handler) {
        return new TestServer(name, handler, true).start(0);
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.MILLISECONDS).syncUninterruptibly();
    }

    static class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
            if (!ctx.channel().isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                ctx.channel().config().setAutoRead(true);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f ->
                    ((DuplexChannel) ctx.channel()).shutdownOutput().addListener(g -> ctx.close()));
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    static final class Named extends Echo {
        private final String name;

        Named(String name) {
            this.name = name;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(Unpooled.copiedBuffer(name + "\n", StandardCharsets.US_ASCII));
        }
    }

    static final class ReplyAfterFin extends ChannelInboundHandlerAdapter {
        private final String name;
        private ByteBuf received;

        ReplyAfterFin(String name) {
            this.name = name;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            if (received == null) {
                received = ctx.alloc().buffer();
            }
            received.writeBytes(b);
            b.release();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                ByteBuf reply = ctx.alloc().buffer();
                reply.writeCharSequence(name + ":", StandardCharsets.US_ASCII);
                if (received != null) {
                    reply.writeBytes(received);
                    received.release();
                    received = null;
                }
                ctx.writeAndFlush(reply).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (received != null) {
                received.release();
                received = null;
            }
        }
    }
}
