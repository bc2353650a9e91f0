package dev.planetary.bench.soak;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The VMs' network link to Genesis: each agent talks to Genesis through this relay, which connects onwards FROM the
 * agent's own address (so Genesis records the VM's address, as it would without the relay). {@link #cut(String)}
 * is a VM losing its network: its open connections close and new ones are refused, so its agent can neither
 * heartbeat nor leave, and Genesis must expire the VM after its TTL. That is the only way to stop the registry-client
 * {@code Agent} without a leave, and it needs no change to the Agent.
 */
final class Uplink implements AutoCloseable {

    private final EventLoopGroup group;
    private final InetSocketAddress genesis;
    private final Channel listener;
    private final Set<String> cut = ConcurrentHashMap.newKeySet();
    private final Map<String, Set<Channel>> open = new ConcurrentHashMap<>();

    Uplink(EventLoopGroup group, InetSocketAddress genesis) {
        this.group = group;
        this.genesis = genesis;
        this.listener = new ServerBootstrap()
            .group(group)
            .channel(EpollServerSocketChannel.class)
            .childOption(ChannelOption.AUTO_READ, false)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel c) {
                    c.pipeline().addLast(new Front());
                }
            })
            .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
    }

    /** The URL agents use for Genesis. */
    java.net.URI url() {
        return java.net.URI.create("http://127.0.0.1:" + ((InetSocketAddress) listener.localAddress()).getPort());
    }

    /** The VM at {@code ip} loses its network. */
    void cut(String ip) {
        cut.add(ip);
        Set<Channel> chs = open.get(ip);
        if (chs != null) {
            chs.forEach(Channel::close);
        }
    }

    /** A new VM at {@code ip} (an address reused after its last VM is long gone) has its network. */
    void restore(String ip) {
        cut.remove(ip);
    }

    @Override
    public void close() {
        listener.close().awaitUninterruptibly(5_000);
        open.values().forEach(s -> s.forEach(Channel::close));
    }

    private void track(String ip, Channel ch) {
        open.computeIfAbsent(ip, k -> ConcurrentHashMap.newKeySet()).add(ch);
        ch.closeFuture().addListener(f -> {
            Set<Channel> s = open.get(ip);
            if (s != null) {
                s.remove(ch);
            }
        });
    }

    private final class Front extends ChannelInboundHandlerAdapter {
        private Channel back;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel front = ctx.channel();
            String ip = ((InetSocketAddress) front.remoteAddress()).getAddress().getHostAddress();
            if (cut.contains(ip)) {
                front.close();
                return;
            }
            track(ip, front);
            ChannelFuture f = new Bootstrap()
                .group(front.eventLoop())
                .channel(EpollSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 2_000)
                .handler(new Back(front))
                .localAddress(new InetSocketAddress(ip, 0))
                .connect(genesis);
            back = f.channel();
            track(ip, back);
            f.addListener((ChannelFutureListener) cf -> {
                if (cf.isSuccess() && !cut.contains(ip)) {
                    front.read();
                } else {
                    front.close();
                    cf.channel().close();
                }
            });
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            back.writeAndFlush(msg).addListener((ChannelFutureListener) f -> {
                if (f.isSuccess()) {
                    ctx.channel().read();
                } else {
                    ctx.channel().close();
                }
            });
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (back != null) {
                back.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static final class Back extends ChannelInboundHandlerAdapter {
        private final Channel front;

        Back(Channel front) {
            this.front = front;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            front.writeAndFlush(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            front.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
