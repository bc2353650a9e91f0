package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.socket.SocketChannel;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@link HalfClose} on real loopback sockets: on epoll the peer gets the FIN while the channel can still read what the
 * peer sends after it (a half-close, not a close), and the channel reports its output shut as after Netty's own
 * {@code shutdownOutput}; other transports are left to Netty's call.
 */
class HalfCloseTest {

    @Test
    void epollSendsTheFinAndKeepsReading() throws Exception {
        Assumptions.assumeTrue(Epoll.isAvailable(), "native epoll is not available here");
        EventLoopGroup group = Transport.EPOLL.newGroup(1, "half-close-test");
        try (ServerSocket server = new ServerSocket(0, 4, InetAddress.getByName("127.0.0.1"))) {
            InetSocketAddress target = new InetSocketAddress("127.0.0.1", server.getLocalPort());
            SocketChannel ch = Transport.EPOLL.newChannel(target);
            CompletableFuture<String> afterFin = new CompletableFuture<>();
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ByteBuf buf = (ByteBuf) msg;
                    afterFin.complete(buf.toString(StandardCharsets.US_ASCII));
                    buf.release();
                }
            });
            group.register(ch).sync();
            ch.connect(target).sync();
            try (Socket peer = server.accept()) {
                peer.setSoTimeout(10_000);
                assertThat(ch.eventLoop().submit(() -> HalfClose.shutdownOutput(ch)).get(10, TimeUnit.SECONDS))
                    .as("done at the socket").isTrue();
                InputStream in = peer.getInputStream();
                assertThat(in.read()).as("the peer reads the FIN").isEqualTo(-1);
                assertThat(ch.isOutputShutdown()).isTrue();
                assertThat(ch.isActive()).as("half-closed, not closed").isTrue();
                peer.getOutputStream().write("after".getBytes(StandardCharsets.US_ASCII));
                assertThat(afterFin.get(10, TimeUnit.SECONDS)).as("read after the FIN").isEqualTo("after");
            } finally {
                ch.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void otherTransportsAreLeftToNetty() {
        SocketChannel ch = Transport.NIO.newChannel(new InetSocketAddress("127.0.0.1", 9));
        try {
            assertThat(HalfClose.shutdownOutput(ch)).isFalse();
        } finally {
            ch.unsafe().closeForcibly();
        }
    }
}
