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
 * adds no event the channel would not see anyway; the channels stay edge-triggered (Netty's default, which the proxy
 * keeps), so a hang-up wakes the loop once, not in a loop. Netty offers no public way to change the interest set,
 * hence a method handle on its protected {@code setFlag}, called once per channel; if a later Netty changes it, this
 * becomes a no-op (and the stress test shows whether the defect is still there).
 *
 * <p>Called before a channel is registered (the listener sees each accepted channel before the acceptor registers
 * it; the connector before it registers the server side), the flag goes into the channel's {@code EPOLL_CTL_ADD}
 * and costs no system call of its own. That is two {@code epoll_ctl} per proxied connection fewer than adding it once
 * connected. Netty never clears {@code EPOLLERR}, so once per channel is enough: the relay does not repeat it.
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

    static {
        Class<?> c = null;
        MethodHandle h = null;
        int err = 0;
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
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            h = null; // no epoll classes, or another Netty: nothing to work around here
        }
        EPOLL_CHANNEL = c;
        SET_FLAG = h;
        EPOLLERR = err;
    }

    private EpollInterest() {
    }

    /**
     * Keeps the channel's epoll registration non-empty for its whole life. Before the channel is registered (any
     * thread that owns it then), or on its event loop. A no-op for other transports (NIO, io_uring).
     */
    static void keep(Channel ch) {
        if (SET_FLAG == null || !EPOLL_CHANNEL.isInstance(ch)) {
            return;
        }
        try {
            SET_FLAG.invokeExact(ch, EPOLLERR);
        } catch (Error e) {
            throw e;
        } catch (Throwable e) {
            // setFlag's IOException (the socket is already gone): the channel is closing; nothing to keep
        }
    }
}
