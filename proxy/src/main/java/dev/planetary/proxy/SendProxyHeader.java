package dev.planetary.proxy;

import dev.planetary.core.config.SendProxy;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.NetUtil;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * {@code send-proxy} / {@code send-proxy-v2}: the PROXY protocol header a server gets before the client's first
 * byte, encoded by Netty's {@link HAProxyMessageEncoder}. The encoder sits in the server channel's pipeline only for
 * the one write of the header; every later write goes straight to the socket.
 */
final class SendProxyHeader {

    private SendProxyHeader() {
    }

    /**
     * Writes (does not flush) the header of a connection from {@code source} to {@code destination} on a server
     * channel that has just connected, before anything else is written on it. Event loop of {@code ch}.
     */
    static void write(Channel ch, SendProxy version, InetSocketAddress source, InetSocketAddress destination) {
        writeMessage(ch, proxied(version, source, destination));
    }

    /**
     * A health check's header, as HAProxy 2.6 sends it (measured): version 1 names the check connection's own
     * addresses, version 2 is a {@code LOCAL} command (no addresses: the receiver keeps the socket's).
     */
    static void writeCheck(Channel ch, SendProxy version) {
        HAProxyMessage m = version == SendProxy.V2
            ? new HAProxyMessage(HAProxyProtocolVersion.V2, HAProxyCommand.LOCAL, HAProxyProxiedProtocol.UNKNOWN,
                null, null, 0, 0)
            : proxied(version, (InetSocketAddress) ch.localAddress(), (InetSocketAddress) ch.remoteAddress());
        writeMessage(ch, m);
    }

    /** A check connected: sends its header if it has one, then closes (after the header is flushed). */
    static void checkThenClose(Channel ch, SendProxy version) {
        if (version == SendProxy.NONE || !ch.isActive()) {
            ch.close();
            return;
        }
        writeCheck(ch, version);
        ch.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    private static void writeMessage(Channel ch, HAProxyMessage m) {
        ChannelPipeline p = ch.pipeline();
        p.addFirst(HAProxyMessageEncoder.INSTANCE);
        try {
            ch.write(m, ch.voidPromise()); // encoded (and m released) by the encoder, inline on this event loop
        } finally {
            p.remove(HAProxyMessageEncoder.INSTANCE);
        }
    }

    /**
     * A {@code PROXY} command from {@code source} to {@code destination}; TCP6 when either is IPv6 (an IPv4 address
     * is then written IPv4-mapped, as HAProxy does).
     */
    static HAProxyMessage proxied(SendProxy version, InetSocketAddress source, InetSocketAddress destination) {
        InetAddress s = source.getAddress();
        InetAddress d = destination.getAddress();
        boolean v6 = s instanceof Inet6Address || d instanceof Inet6Address;
        return new HAProxyMessage(version == SendProxy.V2 ? HAProxyProtocolVersion.V2 : HAProxyProtocolVersion.V1,
            HAProxyCommand.PROXY, v6 ? HAProxyProxiedProtocol.TCP6 : HAProxyProxiedProtocol.TCP4,
            text(s, v6), text(d, v6), source.getPort(), destination.getPort());
    }

    private static String text(InetAddress a, boolean v6) {
        String t = NetUtil.toAddressString(a); // no scope id, no DNS
        return v6 && a instanceof Inet4Address ? "::ffff:" + t : t;
    }
}
