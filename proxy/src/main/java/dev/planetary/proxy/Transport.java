package dev.planetary.proxy;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Native epoll when the platform has it, NIO otherwise (with the reason logged once). */
public enum Transport {
    EPOLL(EpollServerSocketChannel.class, EpollSocketChannel.class),
    NIO(NioServerSocketChannel.class, NioSocketChannel.class);

    private static final Logger LOG = LoggerFactory.getLogger(Transport.class);

    private final Class<? extends ServerChannel> serverChannel;
    private final Class<? extends SocketChannel> channel;

    Transport(Class<? extends ServerChannel> serverChannel, Class<? extends SocketChannel> channel) {
        this.serverChannel = serverChannel;
        this.channel = channel;
    }

    public Class<? extends ServerChannel> serverChannel() { return serverChannel; }
    public Class<? extends SocketChannel> channel() { return channel; }

    /** A new, unregistered client socket of this transport (the server side of a proxied connection). */
    public SocketChannel newChannel() {
        return this == EPOLL ? new EpollSocketChannel() : new NioSocketChannel();
    }

    public EventLoopGroup newGroup(int threads, String name) {
        IoHandlerFactory factory = this == EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, false), factory);
    }

    /** Epoll if available; {@code -Dplanetary.transport=nio} forces NIO (for comparisons and tests). */
    public static Transport best() {
        if ("nio".equalsIgnoreCase(System.getProperty("planetary.transport"))) {
            return NIO;
        }
        if (Epoll.isAvailable()) {
            return EPOLL;
        }
        LOG.warn("native epoll is not available, falling back to NIO: {}", String.valueOf(Epoll.unavailabilityCause()));
        return NIO;
    }
}
