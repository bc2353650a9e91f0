package dev.planetary.bench.soak;

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
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A soak server: a VM's service or a static backend server, on its own loopback address. Every connection first gets
 * the server's name and a newline (so the driver knows which server it landed on, and whether that server was killed
 * when the connection ends early), then everything it sends echoed back, with backpressure (reading pauses while the
 * echo cannot be written) and half-close (after the client's FIN, the rest is flushed, then closed).
 *
 * <p>{@link #closeListener()} and {@link #openListener()} make its health checks fail and recover while its live
 * connections go on; {@link #kill()} is the server dying: listener and every connection closed.
 */
final class EchoServer implements AutoCloseable {

    private final String name;
    private final String ip;
    private final EventLoopGroup group;
    private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final ByteBuf announce;
    /** Test hook: flip one byte of the next echo (proves the driver detects corruption). */
    private final AtomicBoolean corruptNext = new AtomicBoolean();
    private volatile Channel listener;
    private volatile int port;

    private EchoServer(String name, String ip, EventLoopGroup group) {
        this.name = name;
        this.ip = ip;
        this.group = group;
        this.announce = Unpooled.unreleasableBuffer(
            Unpooled.copiedBuffer(name + "\n", StandardCharsets.US_ASCII).asReadOnly());
    }

    /** Starts listening on {@code ip} at {@code port} (0: any free port). */
    static EchoServer start(String name, String ip, int port, EventLoopGroup group) {
        EchoServer s = new EchoServer(name, ip, group);
        s.port = port;
        s.openListener();
        return s;
    }

    String name() { return name; }
    String ip() { return ip; }
    int port() { return port; }
    boolean listening() { return listener != null; }
    int connections() { return children.size(); }

    void corruptNextEcho() {
        corruptNext.set(true);
    }

    /** Listens again on the same address and port (SO_REUSEADDR: the old listener's port is free at once). */
    synchronized void openListener() {
        if (listener != null) {
            return;
        }
        Channel ch = new ServerBootstrap()
            .group(group)
            .channel(EpollServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 1024)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel c) {
                    children.add(c);
                    c.pipeline().addLast(new Echo());
                }
            })
            .bind(new InetSocketAddress(ip, port)).syncUninterruptibly().channel();
        port = ((InetSocketAddress) ch.localAddress()).getPort();
        listener = ch;
    }

    /** Stops accepting (health checks fail); live connections go on. */
    synchronized void closeListener() {
        Channel ch = listener;
        listener = null;
        if (ch != null) {
            ch.close().syncUninterruptibly();
        }
    }

    /** The server dies: no listener, every connection closed. */
    void kill() {
        closeListener();
        children.close().awaitUninterruptibly(5_000);
    }

    @Override
    public void close() {
        kill();
    }

    private final class Echo extends ChannelInboundHandlerAdapter {
        private boolean inputShut;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(announce.duplicate());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            if (b.isReadable() && corruptNext.compareAndSet(true, false)) {
                int at = b.readerIndex();
                b.setByte(at, b.getByte(at) ^ 0x5a);
            }
            ctx.write(b, ctx.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
            if (!ctx.channel().isWritable()) {
                ctx.channel().config().setAutoRead(false); // resumed by channelWritabilityChanged
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable() && !inputShut) {
                ctx.channel().config().setAutoRead(true);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                inputShut = true;
                // the client is done sending: what is echoed so far goes out, then the connection closes
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
