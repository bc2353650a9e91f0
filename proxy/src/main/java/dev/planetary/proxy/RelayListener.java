package dev.planetary.proxy;

import io.netty.channel.Channel;
import io.netty.channel.epoll.AbstractEpollServerChannel;
import io.netty.channel.epoll.EpollChannelConfig;
import io.netty.channel.epoll.LinuxSocket;
import io.netty.channel.unix.NativeInetAddress;

import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * A listening socket of a frontend on epoll, opened and listening already ({@code Proxy.listenAll}): its accepted
 * connections are {@link RelayChannel}s. Netty's {@code EpollServerSocketChannel} is final and makes its own
 * accepted channels, so it cannot be given ours. Its address is the one it was bound to: Netty's constructor asks the
 * kernel for SO_ERROR and the local and peer addresses, three system calls per port at start-up that this one saves
 * (one remains, {@code LinuxSocket.newSocket} asking whether the socket is IPv6).
 */
final class RelayListener extends AbstractEpollServerChannel {

    private final EpollChannelConfig config;
    private final InetSocketAddress bound;

    /**
     * @param fd a socket that listens already
     * @param bound the address it is bound to (its port is the frontend port an accepted connection came to)
     */
    RelayListener(int fd, InetSocketAddress bound) {
        super(LinuxSocket.newSocket(fd), false);
        this.active = true;
        this.bound = bound;
        this.config = new Config(this);
    }

    @Override
    public EpollChannelConfig config() {
        return config;
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    protected SocketAddress localAddress0() {
        return bound;
    }

    @Override
    protected Channel newChildChannel(int fd, byte[] address, int offset, int len) {
        return new RelayChannel(this, LinuxSocket.newSocket(fd), NativeInetAddress.address(address, offset, len));
    }

    /** Only the options every channel has (auto-read above all, which the accept gate turns on and off). */
    private static final class Config extends EpollChannelConfig {
        Config(RelayListener channel) {
            super(channel);
        }
    }
}
