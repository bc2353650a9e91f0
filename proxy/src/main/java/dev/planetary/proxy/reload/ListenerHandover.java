package dev.planetary.proxy.reload;

import dev.planetary.proxy.Proxy;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.DomainSocketReadMode;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.netty.handler.codec.LineBasedFrameDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Seamless hand-over of listening sockets between processes, as HAProxy's {@code -x}: the running proxy exposes its
 * listeners on a unix socket; a new process connects, sends {@code _getsocks}, receives every listening descriptor
 * (SCM_RIGHTS, one per message) and adopts those whose address its configuration binds. Both processes then share
 * each socket: connections waiting in its queue are accepted by whichever accepts first, and when the old process
 * closes its descriptor (soft stop after {@code -sf}) the socket stays open in the new one. No port is ever closed,
 * so no connection is refused. Epoll only (descriptor passing needs the native transport).
 *
 * <p>The exchange is HAProxy's command name on a line of its own, then descriptors only, then the server closes;
 * so a runtime API socket can offer it too: its handler, on {@code _getsocks} from a socket configured with
 * {@code expose-fd listeners}, calls {@link #sendListeners(Channel, List)} on its own (epoll domain socket) channel.
 */
public final class ListenerHandover implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ListenerHandover.class);

    /** HAProxy's command for it on the stats socket. */
    public static final String COMMAND = "_getsocks";
    /** Longest command line accepted: the command and a line ending. */
    private static final int MAX_LINE = 64;
    /** How long a new process waits for the old one's descriptors before binding fresh. */
    public static final long TAKE_TIMEOUT_MS = 10_000;

    private final EventLoopGroup group;
    private final Channel server;
    private final Path path;
    private final Object inode;

    private ListenerHandover(EventLoopGroup group, Channel server, Path path, Object inode) {
        this.group = group;
        this.server = server;
        this.path = path;
        this.inode = inode;
    }

    /**
     * Exposes the proxy's listeners on a unix socket at {@code path} (mode 0600: only this user may take them). The
     * socket is bound under a temporary name and renamed over {@code path}, so that a process taking over from an
     * earlier one replaces that one's socket at once and never removes it from under a client.
     */
    public static ListenerHandover expose(Path path, Supplier<List<Integer>> listeners) throws IOException {
        if (!Epoll.isAvailable()) {
            throw new IOException("the listener hand-over needs the native epoll transport: "
                + Epoll.unavailabilityCause());
        }
        Path tmp = path.resolveSibling(path.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        Files.deleteIfExists(tmp);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        try {
            Channel ch = new ServerBootstrap().group(group).channel(EpollServerDomainSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel c) {
                        c.pipeline().addLast(new LineBasedFrameDecoder(MAX_LINE), new Answer(listeners));
                    }
                })
                .bind(new DomainSocketAddress(tmp.toString())).sync().channel();
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            LOG.info("listeners exposed for a hand-over on {}", path);
            return new ListenerHandover(group, ch, path, Files.getAttribute(path, "unix:ino"));
        } catch (IOException | RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            Files.deleteIfExists(tmp);
            throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IOException("interrupted", e);
        }
    }

    /** Answers one client: {@code _getsocks} gets every listener; anything else closes the connection. */
    private static final class Answer extends ChannelInboundHandlerAdapter {
        private final Supplier<List<Integer>> listeners;

        Answer(Supplier<List<Integer>> listeners) {
            this.listeners = listeners;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf line = (ByteBuf) msg;
            try {
                if (COMMAND.equals(line.toString(StandardCharsets.US_ASCII).trim())) {
                    sendListeners(ctx.channel(), listeners.get());
                } else {
                    ctx.close();
                }
            } finally {
                line.release();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a line too long or a peer gone: nothing handed over
        }
    }

    /**
     * Sends each descriptor over {@code channel} (an epoll domain socket), then closes it: the peer reads until the
     * end. The descriptors stay open here.
     */
    public static void sendListeners(Channel channel, List<Integer> fds) {
        for (int fd : fds) {
            channel.write(new FileDescriptor(fd));
        }
        channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        LOG.info("handed {} listening sockets over", fds.size());
    }

    /**
     * The new process's side: takes the listening sockets the process at {@code path} exposes, by address
     * ({@link Proxy#endpointKey}). Each received descriptor is now this process's to adopt or close.
     */
    public static Map<String, List<Integer>> take(Path path, long timeoutMs) throws IOException {
        if (!Epoll.isAvailable()) {
            throw new IOException("the listener hand-over needs the native epoll transport: "
                + Epoll.unavailabilityCause());
        }
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        List<Integer> fds = new ArrayList<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            Channel ch = new Bootstrap().group(group).channel(EpollDomainSocketChannel.class)
                .option(EpollChannelOption.DOMAIN_SOCKET_READ_MODE, DomainSocketReadMode.FILE_DESCRIPTORS)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        fds.add(((FileDescriptor) msg).intValue()); // the event loop, then read after `done`
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        done.complete(null);
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        done.completeExceptionally(cause);
                        ctx.close();
                    }
                })
                .connect(new DomainSocketAddress(path.toString())).sync().channel();
            ch.writeAndFlush(Unpooled.copiedBuffer(COMMAND + "\n", StandardCharsets.US_ASCII));
            done.get(timeoutMs, TimeUnit.MILLISECONDS);
            ch.close().sync();
        } catch (Exception e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            fds.forEach(ListenerHandover::closeQuietly); // the loop is shut down: no more are added
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            Throwable c = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
            throw new IOException("cannot take the listeners from " + path + ": "
                + (c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage()), e);
        }
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        Map<String, List<Integer>> byAddress = new HashMap<>();
        for (int fd : fds) {
            try {
                InetSocketAddress a = new Socket(fd).localAddress();
                byAddress.computeIfAbsent(Proxy.endpointKey(a), k -> new ArrayList<>()).add(fd);
            } catch (RuntimeException e) {
                closeQuietly(fd); // not a listening inet socket: not ours to keep
            }
        }
        LOG.info("took {} listening sockets ({} addresses) from {}", fds.size(), byAddress.size(), path);
        return byAddress;
    }

    private static void closeQuietly(int fd) {
        try {
            new FileDescriptor(fd).close();
        } catch (IOException ignored) {
            // already closed: nothing to give back
        }
    }

    public Path path() {
        return path;
    }

    /**
     * Stops exposing (a stopping process hands nothing over any more). The socket file goes too, unless a newer
     * process has put its own at the path meanwhile.
     */
    @Override
    public void close() {
        server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        try {
            if (inode.equals(Files.getAttribute(path, "unix:ino"))) {
                Files.deleteIfExists(path);
            }
        } catch (IOException | RuntimeException e) {
            // gone already, or not ours any more: leave it
        }
    }
}
