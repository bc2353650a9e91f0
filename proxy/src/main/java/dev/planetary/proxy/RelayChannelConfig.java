package dev.planetary.proxy;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollChannelConfig;
import io.netty.channel.socket.SocketChannelConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The socket options of a {@link RelayChannel}: the ones a proxied connection uses (TCP_NODELAY on from the start, as
 * Netty and HAProxy do; half-closure; SO_LINGER 0 for a reset; keep-alive, buffer sizes and TOS for completeness),
 * each one system call when set or read, none at creation but TCP_NODELAY's.
 *
 * <p>Netty's own socket config reads SO_SNDBUF at creation to size its gathering writes (twice the send buffer); this
 * one starts from twice the kernel's default send buffer, read once per process ({@link #DEFAULT_SNDBUF}), which is
 * what that read returns for a new socket. Netty adapts the size after each gathering write either way.
 */
final class RelayChannelConfig extends EpollChannelConfig implements SocketChannelConfig {

    /** The kernel's initial send buffer of a TCP socket (tcp_wmem's default), 16 KiB if it cannot be read. */
    static final int DEFAULT_SNDBUF = defaultSendBuffer();

    private volatile boolean allowHalfClosure;

    RelayChannelConfig(RelayChannel channel) {
        super(channel);
        setTcpNoDelay(true); // as Netty's socket channels on Linux: a relay forwards what it has at once
        setMaxBytesPerGatheringWrite((long) DEFAULT_SNDBUF << 1);
    }

    private static int defaultSendBuffer() {
        try {
            String[] v = Files.readString(Path.of("/proc/sys/net/ipv4/tcp_wmem")).trim().split("\\s+");
            int n = Integer.parseInt(v[1]);
            return n > 0 ? n : 16_384;
        } catch (IOException | RuntimeException e) {
            return 16_384;
        }
    }

    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), ChannelOption.SO_RCVBUF, ChannelOption.SO_SNDBUF,
            ChannelOption.TCP_NODELAY, ChannelOption.SO_KEEPALIVE, ChannelOption.SO_REUSEADDR, ChannelOption.SO_LINGER,
            ChannelOption.IP_TOS, ChannelOption.ALLOW_HALF_CLOSURE);
    }

    @SuppressWarnings("unchecked")
    @Override
    public <T> T getOption(ChannelOption<T> option) {
        if (option == ChannelOption.SO_RCVBUF) {
            return (T) Integer.valueOf(getReceiveBufferSize());
        }
        if (option == ChannelOption.SO_SNDBUF) {
            return (T) Integer.valueOf(getSendBufferSize());
        }
        if (option == ChannelOption.TCP_NODELAY) {
            return (T) Boolean.valueOf(isTcpNoDelay());
        }
        if (option == ChannelOption.SO_KEEPALIVE) {
            return (T) Boolean.valueOf(isKeepAlive());
        }
        if (option == ChannelOption.SO_REUSEADDR) {
            return (T) Boolean.valueOf(isReuseAddress());
        }
        if (option == ChannelOption.SO_LINGER) {
            return (T) Integer.valueOf(getSoLinger());
        }
        if (option == ChannelOption.IP_TOS) {
            return (T) Integer.valueOf(getTrafficClass());
        }
        if (option == ChannelOption.ALLOW_HALF_CLOSURE) {
            return (T) Boolean.valueOf(isAllowHalfClosure());
        }
        return super.getOption(option);
    }

    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        if (option == ChannelOption.SO_RCVBUF) {
            setReceiveBufferSize((Integer) value);
        } else if (option == ChannelOption.SO_SNDBUF) {
            setSendBufferSize((Integer) value);
        } else if (option == ChannelOption.TCP_NODELAY) {
            setTcpNoDelay((Boolean) value);
        } else if (option == ChannelOption.SO_KEEPALIVE) {
            setKeepAlive((Boolean) value);
        } else if (option == ChannelOption.SO_REUSEADDR) {
            setReuseAddress((Boolean) value);
        } else if (option == ChannelOption.SO_LINGER) {
            setSoLinger((Integer) value);
        } else if (option == ChannelOption.IP_TOS) {
            setTrafficClass((Integer) value);
        } else if (option == ChannelOption.ALLOW_HALF_CLOSURE) {
            setAllowHalfClosure((Boolean) value);
        } else {
            return super.setOption(option, value);
        }
        return true;
    }

    /** A socket option call that failed: the socket is gone or the value is refused (Netty's configs do the same). */
    private static ChannelException failed(IOException e) {
        return new ChannelException(e);
    }

    @Override
    public boolean isTcpNoDelay() {
        try {
            return socket().isTcpNoDelay();
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public RelayChannelConfig setTcpNoDelay(boolean tcpNoDelay) {
        try {
            socket().setTcpNoDelay(tcpNoDelay);
            return this;
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public int getSoLinger() {
        try {
            return socket().getSoLinger();
        } catch (IOException e) {
            throw failed(e);
        }
    }

    /**
     * Only 0 (close with a reset) or off (-1): {@link RelayChannel} closes on its event loop, and a positive linger
     * would block that loop in close() (Netty's own channel moves such a close to another thread instead).
     */
    @Override
    public RelayChannelConfig setSoLinger(int soLinger) {
        if (soLinger > 0) {
            throw new IllegalArgumentException("SO_LINGER above 0 would block the event loop in close(): " + soLinger);
        }
        try {
            socket().setSoLinger(soLinger);
            return this;
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public int getSendBufferSize() {
        try {
            return socket().getSendBufferSize();
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public RelayChannelConfig setSendBufferSize(int sendBufferSize) {
        try {
            socket().setSendBufferSize(sendBufferSize);
            int twice = socket().getSendBufferSize() << 1; // what the kernel made of it, as Netty sizes it
            if (twice > 0) {
                setMaxBytesPerGatheringWrite(twice);
            }
            return this;
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public int getReceiveBufferSize() {
        try {
            return socket().getReceiveBufferSize();
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public RelayChannelConfig setReceiveBufferSize(int receiveBufferSize) {
        try {
            socket().setReceiveBufferSize(receiveBufferSize);
            return this;
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public boolean isKeepAlive() {
        try {
            return socket().isKeepAlive();
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public RelayChannelConfig setKeepAlive(boolean keepAlive) {
        try {
            socket().setKeepAlive(keepAlive);
            return this;
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public int getTrafficClass() {
        try {
            return socket().getTrafficClass();
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public RelayChannelConfig setTrafficClass(int trafficClass) {
        try {
            socket().setTrafficClass(trafficClass);
            return this;
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public boolean isReuseAddress() {
        try {
            return socket().isReuseAddress();
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public RelayChannelConfig setReuseAddress(boolean reuseAddress) {
        try {
            socket().setReuseAddress(reuseAddress);
            return this;
        } catch (IOException e) {
            throw failed(e);
        }
    }

    @Override
    public RelayChannelConfig setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
        return this; // as Netty's socket configs: no such thing on Linux
    }

    @Override
    public boolean isAllowHalfClosure() {
        return allowHalfClosure;
    }

    @Override
    public RelayChannelConfig setAllowHalfClosure(boolean allowHalfClosure) {
        this.allowHalfClosure = allowHalfClosure;
        return this;
    }

    @Override
    public RelayChannelConfig setConnectTimeoutMillis(int connectTimeoutMillis) {
        super.setConnectTimeoutMillis(connectTimeoutMillis);
        return this;
    }

    @Override
    @Deprecated
    public RelayChannelConfig setMaxMessagesPerRead(int maxMessagesPerRead) {
        super.setMaxMessagesPerRead(maxMessagesPerRead);
        return this;
    }

    @Override
    public RelayChannelConfig setWriteSpinCount(int writeSpinCount) {
        super.setWriteSpinCount(writeSpinCount);
        return this;
    }

    @Override
    public RelayChannelConfig setAllocator(ByteBufAllocator allocator) {
        super.setAllocator(allocator);
        return this;
    }

    @Override
    public RelayChannelConfig setRecvByteBufAllocator(RecvByteBufAllocator allocator) {
        super.setRecvByteBufAllocator(allocator);
        return this;
    }

    @Override
    public RelayChannelConfig setAutoRead(boolean autoRead) {
        super.setAutoRead(autoRead);
        return this;
    }

    @Override
    public RelayChannelConfig setAutoClose(boolean autoClose) {
        super.setAutoClose(autoClose);
        return this;
    }

    @Override
    @Deprecated
    public RelayChannelConfig setWriteBufferHighWaterMark(int writeBufferHighWaterMark) {
        super.setWriteBufferHighWaterMark(writeBufferHighWaterMark);
        return this;
    }

    @Override
    @Deprecated
    public RelayChannelConfig setWriteBufferLowWaterMark(int writeBufferLowWaterMark) {
        super.setWriteBufferLowWaterMark(writeBufferLowWaterMark);
        return this;
    }

    @Override
    public RelayChannelConfig setWriteBufferWaterMark(WriteBufferWaterMark writeBufferWaterMark) {
        super.setWriteBufferWaterMark(writeBufferWaterMark);
        return this;
    }

    @Override
    public RelayChannelConfig setMessageSizeEstimator(MessageSizeEstimator estimator) {
        super.setMessageSizeEstimator(estimator);
        return this;
    }
}
