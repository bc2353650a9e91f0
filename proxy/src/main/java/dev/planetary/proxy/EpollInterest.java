package dev.planetary.proxy;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollIoOps;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;

/**
 * Works around a Netty 4.2.18 epoll defect that loses data after a half-close: keeps {@code EPOLLERR} in a relayed
 * channel's epoll interest set so that the set never becomes empty.
 *
 * <p>The defect: when a peer sends its FIN, Netty clears {@code EPOLLIN} and {@code EPOLLRDHUP}; if {@code EPOLLOUT}
 * is not set at that moment the interest set is empty, and the I/O handler removes the socket from epoll
 * ({@code EPOLL_CTL_DEL}) while still remembering it as added. When that side's send buffer later fills, Netty asks
 * for {@code EPOLLOUT} with {@code EPOLL_CTL_MOD}, which fails with ENOENT; the failure shuts the channel's output
 * and fails every queued write, so the tail of the stream in that direction (about a watermark, 256 KiB) is lost.
 * {@code EchoIntegrityStressTest} reproduces it (4 MiB echoed after the client's FIN: lost in most runs on epoll).
 *
 * <p>Why this is safe: epoll always reports errors and hang-ups whatever is asked for, so asking for {@code EPOLLERR}
 * adds no event the channel would not see anyway. Netty offers no public way to change the interest set,
 * hence a method handle on its protected {@code setFlag}, called once per channel; if a later Netty changes it, this
 * becomes a no-op (and the stress test shows whether the defect is still there).
 *
 * <p>Called before a channel is registered (the listener sees each accepted channel before the acceptor registers
 * it; the connector before it registers the server side), the flags go into the channel's {@code EPOLL_CTL_ADD}
 * and cost no system call of their own: four {@code epoll_ctl} per proxied connection fewer than adding
 * {@code EPOLLERR} and {@code EPOLLIN} once connected. Netty never clears {@code EPOLLERR}, so once per channel is
 * enough: the relay does not repeat it.
 */
final class EpollInterest {

    /**
     * {@code AbstractEpollChannel.setFlag(int)} as {@code (Channel, int) void}, or null where there is nothing to work
     * around. A static final handle called with {@code invokeExact}: no argument array and no boxing per call (a
     * {@code Method.invoke} allocated one per connection side), and the JIT inlines it like a direct call.
     */
    private static final MethodHandle SET_FLAG;
    private static final Class<?> EPOLL_CHANNEL;
    private static final int EPOLLERR;
    private static final int EPOLLIN;

    static {
        Class<?> c = null;
        MethodHandle h = null;
        int err = 0;
        int in = 0;
        try {
            c = Class.forName("io.netty.channel.epoll.AbstractEpollChannel");
            Method m = c.getDeclaredMethod("setFlag", int.class);
            // protected, and Netty 4.2.18 offers no public way: no channel option sets it, and an accepted channel is
            // made through a package-private constructor (a subclass would have to take EpollSocketChannel(int), which
            // asks the kernel for the peer's address again: a system call per connection)
            m.setAccessible(true);
            h = MethodHandles.lookup().unreflect(m)
                .asType(MethodType.methodType(void.class, Channel.class, int.class));
            err = EpollIoOps.EPOLLERR.value();
            in = EpollIoOps.EPOLLIN.value();
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            h = null; // no epoll classes, or another Netty: nothing to work around here
        }
        EPOLL_CHANNEL = c;
        SET_FLAG = h;
        EPOLLERR = err;
        EPOLLIN = in;
    }

    private EpollInterest() {
    }

    /**
     * Keeps the channel's epoll registration non-empty for its whole life ({@code EPOLLERR}), and puts {@code EPOLLIN}
     * in the channel's {@code EPOLL_CTL_ADD} too, before it is registered (on any thread that owns it then):
     * the relay reads both sides of every connection from the start (the client's first bytes while the server side
     * connects, as HAProxy does; the server's once connected), so asking for {@code EPOLLIN} at registration saves
     * the {@code EPOLL_CTL_MOD} per side that the first {@code read()} would cost. Netty's epoll channels are
     * level-triggered: a read the channel did not ask for yet reads once, then clears {@code EPOLLIN} unless the
     * handler calls {@code read()} again, so the relay still decides how much it takes in (see
     * {@code Relay.holdEarly}). A no-op for other transports (NIO, io_uring).
     */
    static void keepReading(Channel ch) {
        set(ch, EPOLLERR); // one flag per call: setFlag's check asks whether any bit of its argument is set already
        set(ch, EPOLLIN);
    }

    private static void set(Channel ch, int flags) {
        if (SET_FLAG == null || !EPOLL_CHANNEL.isInstance(ch)) {
            return;
        }
        try {
            SET_FLAG.invokeExact(ch, flags);
        } catch (Error e) {
            throw e;
        } catch (Throwable e) {
            // setFlag's IOException (the socket is already gone): the channel is closing; nothing to keep
        }
    }
}
