package dev.planetary.proxy;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * Native epoll when the platform has it, NIO otherwise (with the reason logged once); io_uring on request
 * ({@code -Dplanetary.transport=io_uring}), an alternative kept only if the benchmark says it pays.
 */
public enum Transport {
    EPOLL(EpollServerSocketChannel.class, EpollSocketChannel.class),
    IO_URING(IoUringServerSocketChannel.class, IoUringSocketChannel.class),
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

    /** Native Linux transports support SO_REUSEPORT (one listening socket per event loop and port). */
    public boolean nativeLinux() {
        return this != NIO;
    }

    /** A new, unregistered client socket of this transport (the server side of a proxied connection). */
    public SocketChannel newChannel() {
        return newChannel(null);
    }

    /**
     * As {@link #newChannel()}, for a connection to {@code target}: on epoll an IPv4 target gets an IPv4 socket
     * rather than Netty's default dual-stack IPv6 one, which saves the {@code setsockopt(IPV6_V6ONLY)} that every
     * dual-stack socket costs (one system call per proxied connection, counted with strace; issue 15).
     */
    public SocketChannel newChannel(SocketAddress target) {
        switch (this) {
            case EPOLL:
                return new RelayChannel(target instanceof InetSocketAddress isa
                    && isa.getAddress() instanceof Inet4Address);
            case IO_URING:
                return new IoUringSocketChannel();
            default:
                return new NioSocketChannel();
        }
    }

    public EventLoopGroup newGroup(int threads, String name) {
        return newGroup(threads, name, 0);
    }

    /** Event loops named {@code name}; {@code loopPriority} 1-99 puts each at real time as it starts. */
    public EventLoopGroup newGroup(int threads, String name, int loopPriority) {
        IoHandlerFactory factory;
        switch (this) {
            case EPOLL:
                factory = EpollIoHandler.newFactory();
                break;
            case IO_URING:
                factory = IoUringIoHandler.newFactory();
                break;
            default:
                factory = NioIoHandler.newFactory();
        }
        return new LoopClock.Group(threads, LoopScheduling.threads(new DefaultThreadFactory(name, false), loopPriority),
            factory); // loops with a LoopClock
    }

    /**
     * Epoll if available; {@code -Dplanetary.transport=nio} forces NIO (for comparisons and tests), and
     * {@code -Dplanetary.transport=io_uring} asks for io_uring (epoll, with the reason logged, if unavailable).
     */
    public static Transport best() {
        String wanted = System.getProperty("planetary.transport", "");
        if ("nio".equalsIgnoreCase(wanted)) {
            return NIO;
        }
        if ("io_uring".equalsIgnoreCase(wanted) || "iouring".equalsIgnoreCase(wanted)) {
            if (IoUring.isAvailable()) {
                return IO_URING;
            }
            LOG.warn("io_uring is not available, using epoll: {}", String.valueOf(IoUring.unavailabilityCause()));
        }
        if (Epoll.isAvailable()) {
            return EPOLL;
        }
        LOG.warn("native epoll is not available, falling back to NIO: {}", String.valueOf(Epoll.unavailabilityCause()));
        return NIO;
    }
}
