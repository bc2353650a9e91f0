package dev.planetary.proxy;

import io.netty.channel.Channel;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;

import java.io.IOException;

/**
 * Sends a relayed epoll socket's FIN ({@code shutdown(SHUT_WR)}) without going through Netty's
 * {@code shutdownOutput}, which in Netty 4.2.18 builds a {@code ChannelOutputShutdownException} with a full stack
 * trace on every call ({@code AbstractChannel.AbstractUnsafe.shutdownOutput}), needed only to fail writes still
 * queued: about 700 bytes per forwarded FIN, plus the promise and the listener the relay hung on it.
 *
 * <p>Why this is safe here: the relay half-closes a side only once its outbound buffer is empty (flushed first) and
 * never writes to it afterwards (the bytes it would forward come from the other side, whose input has just ended),
 * so there is nothing for the exception to fail. The socket keeps its own state ({@code isOutputShutdown} is true
 * after it, as after Netty's call), and the channel's later close frees its outbound buffer as usual. What is left
 * out: Netty's {@code ChannelOutputShutdownEvent}, which no handler of ours reads, and the outbound buffer being
 * dropped at the shutdown rather than at the close. All public API: the epoll channel's {@code fd()} is its
 * {@code LinuxSocket}, a {@link Socket}, whose {@code shutdown(false, true)} is what Netty's
 * {@code doShutdownOutput} calls.
 */
final class HalfClose {

    private HalfClose() {
    }

    /**
     * Shuts the output of an epoll stream channel at its socket, on its event loop: true when done (or the socket was
     * already gone: a reset or close the channel reports by itself). False for other transports (NIO, io_uring), which
     * the caller half-closes through Netty's {@code shutdownOutput}.
     */
    static boolean shutdownOutput(Channel ch) {
        if (!(ch instanceof AbstractEpollStreamChannel)) {
            return false;
        }
        FileDescriptor fd = ((AbstractEpollStreamChannel) ch).fd();
        if (!(fd instanceof Socket)) {
            return false;
        }
        try {
            ((Socket) fd).shutdown(false, true);
        } catch (IOException e) {
            // ENOTCONN after a reset, or closed meanwhile: as after Netty's failed shutdownOutput, the relay goes on
            // as if the FIN had gone; the channel's reset or close ends the connection
        }
        return true;
    }
}
