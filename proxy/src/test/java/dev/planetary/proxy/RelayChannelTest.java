package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.planetary.proxy.testing.Ports;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Socket;
import io.netty.channel.socket.SocketChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The proxy's own epoll channels answer as Netty's did: an accepted connection's addresses (from its listener and
 * accept, or from the kernel on a wildcard bind), its options, ids, and the connecting side's addresses.
 */
class RelayChannelTest {

    private static EventLoopGroup group;

    @BeforeAll
    static void start() {
        Assumptions.assumeTrue(Epoll.isAvailable(), "native epoll is not available here");
        group = Transport.EPOLL.newGroup(1, "relay-channel-test");
    }

    @AfterAll
    static void stop() {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void anAcceptedChannelTakesItsAddressesFromItsListenerAndAccept() throws Exception {
        int port = Ports.pcpu();
        InetSocketAddress bound = new InetSocketAddress("127.0.0.1", port);
        try (Accepting a = new Accepting(bound);
             java.net.Socket client = new java.net.Socket("127.0.0.1", port)) {
            Channel ch = a.accepted.get(5, TimeUnit.SECONDS);
            assertThat(ch).isInstanceOf(RelayChannel.class);
            assertThat(ch.isActive()).isTrue();
            assertThat(ch.localAddress()).isEqualTo(bound);
            assertThat(ch.remoteAddress()).isEqualTo(client.getLocalSocketAddress());
            assertThat(RelayChannel.localPort(ch)).isEqualTo(port);
            assertThat(((RelayChannel) ch).listener()).isSameAs(a.listener);
            assertThat(ch.config().getOption(ChannelOption.ALLOW_HALF_CLOSURE)).as("the bootstrap's child option")
                .isTrue();
            assertThat(ch.config().getOption(ChannelOption.TCP_NODELAY)).isTrue();
            assertThat(ch.config().getOption(ChannelOption.SO_LINGER)).isEqualTo(-1);
            assertThatThrownBy(() -> ch.config().setOption(ChannelOption.SO_LINGER, 5))
                .isInstanceOf(IllegalArgumentException.class);
            assertThat(ch.config().setOption(ChannelOption.SO_LINGER, 0)).isTrue();
            assertThat(ch.config().getOption(ChannelOption.SO_LINGER)).isZero();
            assertThat(ch.id()).isNotEqualTo(a.listener.id());
            assertThat(ch.id().compareTo(a.listener.id())).isNotZero();
        }
    }

    @Test
    void onAWildcardBindTheLocalAddressComesFromTheKernelOnTheLoop() throws Exception {
        int port = Ports.pcpu();
        try (Accepting a = new Accepting(new InetSocketAddress(port));
             java.net.Socket client = new java.net.Socket("127.0.0.1", port)) {
            Channel ch = a.accepted.get(5, TimeUnit.SECONDS);
            InetSocketAddress local = (InetSocketAddress) ch.eventLoop().submit(ch::localAddress).get();
            assertThat(local.getPort()).isEqualTo(port);
            assertThat(local.getAddress()).isEqualTo(InetAddress.getByName("127.0.0.1"));
            assertThat(ch.localAddress()).as("kept").isEqualTo(local);
            assertThat(RelayChannel.localPort(ch)).isEqualTo(port);
        }
    }

    @Test
    void theConnectingSideRecordsItsAddressesAsItConnects() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 4, InetAddress.getByName("127.0.0.1"))) {
            InetSocketAddress target = new InetSocketAddress("127.0.0.1", server.getLocalPort());
            SocketChannel ch = Transport.EPOLL.newChannel(target);
            assertThat(ch).isInstanceOf(RelayChannel.class);
            assertThat(((RelayChannel) ch).listener()).isNull();
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter());
            group.register(ch).sync();
            try {
                ch.connect(target).sync();
                try (java.net.Socket accepted = server.accept()) {
                    assertThat(ch.remoteAddress()).isEqualTo(target);
                    assertThat(ch.localAddress()).isEqualTo(accepted.getRemoteSocketAddress());
                    assertThat(ch.config().getOption(ChannelOption.TCP_NODELAY)).isTrue();
                }
            } finally {
                ch.close().sync();
            }
        }
    }

    /** A listening socket made as the proxy makes it, and a {@link RelayListener} on it that hands out what it accepts. */
    private static final class Accepting implements AutoCloseable {
        final CompletableFuture<Channel> accepted = new CompletableFuture<>();
        final RelayListener listener;

        Accepting(InetSocketAddress bound) throws Exception {
            Socket s = Socket.newSocketStream();
            s.setReuseAddress(true);
            s.bind(bound);
            s.listen(16);
            listener = (RelayListener) new ServerBootstrap().group(group, group)
                .channelFactory(() -> new RelayListener(s.intValue(), bound))
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void handlerAdded(ChannelHandlerContext ctx) {
                        accepted.complete(ctx.channel());
                    }
                })
                .register().sync().channel();
        }

        @Override
        public void close() throws Exception {
            accepted.thenAccept(Channel::close);
            listener.close().sync();
        }
    }
}
