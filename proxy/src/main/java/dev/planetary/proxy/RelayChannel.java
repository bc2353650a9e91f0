package dev.planetary.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelId;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.epoll.LinuxSocket;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One side of a proxied connection on epoll (the accepted client, or the socket that connects to the server): Netty's
 * {@code EpollSocketChannel} less what it asks the kernel for that a proxy already knows or never needs. Per proxied
 * connection that is five system calls fewer (issue 15, counted with strace): the send buffer's size at creation
 * (twice: {@link RelayChannelConfig}), SO_LINGER before each close (twice: Netty asks to know whether to close on
 * another thread, for a linger this proxy never sets above zero), and the accepted socket's local address, known from
 * its listener or asked for only when something reads it ({@link #localAddress0}). Its id is a counter, not Netty's 28 random and
 * machine bytes per channel.
 *
 * <p>Everything else is Netty's own: reads, writes, half-closure, connect, close.
 */
final class RelayChannel extends AbstractEpollStreamChannel implements SocketChannel {

    private static final AtomicLong IDS = new AtomicLong();
    private static final int EPOLLERR = EpollIoOps.EPOLLERR.value();
    private static final int EPOLLIN = EpollIoOps.EPOLLIN.value();

    private final RelayChannelConfig config;
    /** The accepted side's listener and client (from accept4: no system call); null on the connecting side. */
    private final RelayListener listener;
    private final InetSocketAddress client;

    /** The server side of a connection, not connected yet: an IPv4 socket for an IPv4 target (no IPV6_V6ONLY call). */
    RelayChannel(boolean ipv4) {
        super(ipv4 ? LinuxSocket.newSocketStream(SocketProtocolFamily.INET) : LinuxSocket.newSocketStream(), false);
        this.listener = null;
        this.client = null;
        this.config = new RelayChannelConfig(this);
    }

    /**
     * An accepted connection, active, its local address not asked of the kernel (Netty's constructor asks for it;
     * {@code LinuxSocket.newSocket} still asks once, whether the socket is IPv6).
     */
    RelayChannel(RelayListener listener, LinuxSocket fd, InetSocketAddress client) {
        super(fd, false);
        this.active = true;
        this.listener = listener;
        this.client = client;
        this.config = new RelayChannelConfig(this);
    }

    /**
     * Asks epoll for errors and input in this channel's {@code EPOLL_CTL_ADD}: called before the channel is
     * registered, so the flags cost no system call of their own.
     *
     * <p>{@code EPOLLERR}, for the whole of the channel's life, works around a Netty 4.2.18 defect that loses data
     * after a half-close: when a peer sends its FIN, Netty clears {@code EPOLLIN} and {@code EPOLLRDHUP}; if
     * {@code EPOLLOUT} is not set at that moment the interest set is empty, and the I/O handler removes the socket
     * from epoll while still remembering it as added. When that side's send buffer later fills, Netty asks for
     * {@code EPOLLOUT} with {@code EPOLL_CTL_MOD}, which fails with ENOENT, and the tail of the stream in that
     * direction (about a watermark) is lost ({@code EchoIntegrityStressTest}). Epoll reports errors whatever is asked
     * for, so the flag adds no event; Netty never clears it, so once is enough.
     *
     * <p>{@code EPOLLIN}: the relay reads both sides of every connection from the start (the client's first bytes
     * while the server side connects, as HAProxy does; the server's once connected), which saves the
     * {@code EPOLL_CTL_MOD} per side that the first {@code read()} would cost. Netty's epoll channels are
     * level-triggered: a read the channel did not ask for yet reads once, then clears {@code EPOLLIN} unless the
     * handler calls {@code read()} again, so the relay still decides how much it takes in ({@code Relay.holdEarly}).
     */
    void keepReading() {
        try {
            setFlag(EPOLLERR); // one flag per call: setFlag's check asks whether any bit of its argument is set
            setFlag(EPOLLIN);
        } catch (IOException e) {
            // not registered yet, so no system call is made: nothing can fail here
        }
    }

    /** Keeps reading if {@code ch} is one of ours (epoll); other transports' channels are left as they are. */
    static void keepReading(Channel ch) {
        if (ch instanceof RelayChannel r) {
            r.keepReading();
        }
    }

    @Override
    protected ChannelId newId() {
        return new Id(IDS.incrementAndGet());
    }

    @Override
    public RelayChannelConfig config() {
        return config;
    }

    @Override
    public ServerSocketChannel parent() {
        return null; // the listener is not a ServerSocketChannel (it holds no config of one): see listener()
    }

    /** The listener that accepted this connection, or null on the server side. */
    RelayListener listener() {
        return listener;
    }

    /**
     * The local port of an accepted connection (the frontend port it came to): the listener's, with no system call
     * for one of ours; -1 where there is none.
     */
    static int localPort(Channel ch) {
        if (ch instanceof RelayChannel r && r.listener != null) {
            return r.listener.localAddress().getPort();
        }
        return ch.localAddress() instanceof InetSocketAddress a ? a.getPort() : -1;
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) super.remoteAddress();
    }

    /**
     * The accepted side's local address is the listener's when it was bound to one address (exact, and no system
     * call); on a wildcard bind the kernel is asked the first time it is wanted ({@code AbstractChannel} keeps the
     * answer), on the event loop and while open only, so that the descriptor cannot have been closed and reused
     * meanwhile. Only a PROXY header sent to a server and {@code show sess} ask; Netty's constructor asked for every
     * connection. The connecting side's is Netty's, recorded as it connects.
     */
    @Override
    protected SocketAddress localAddress0() {
        if (listener == null) {
            return super.localAddress0();
        }
        InetSocketAddress bound = listener.localAddress();
        if (!bound.getAddress().isAnyLocalAddress()) {
            return bound;
        }
        return eventLoop().inEventLoop() && socket.isOpen() ? socket.localAddress() : null;
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return listener == null ? super.remoteAddress0() : client;
    }

    /**
     * A channel id from a process-wide counter: unique, ordered, and one small object (Netty's default id is 28 bytes
     * of machine id, process id, sequence, time and random, made for every channel and read by nobody here).
     */
    private static final class Id implements ChannelId {
        private static final long serialVersionUID = 1L;
        private final long seq;

        Id(long seq) {
            this.seq = seq;
        }

        @Override
        public String asShortText() {
            return Long.toHexString(seq);
        }

        @Override
        public String asLongText() {
            return "relay-" + Long.toHexString(seq);
        }

        @Override
        public int compareTo(ChannelId o) {
            if (o instanceof Id other) {
                return Long.compare(seq, other.seq);
            }
            return asLongText().compareTo(o.asLongText());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Id other && other.seq == seq;
        }

        @Override
        public int hashCode() {
            return Long.hashCode(seq);
        }

        @Override
        public String toString() {
            return asShortText();
        }
    }
}
