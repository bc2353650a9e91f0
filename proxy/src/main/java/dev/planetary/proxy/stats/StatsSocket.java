package dev.planetary.proxy.stats;

import dev.planetary.core.config.StatsSocketConfig;
import dev.planetary.proxy.Proxy;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.string.StringDecoder;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The {@code stats socket}s: HAProxy's runtime API on unix sockets (epoll domain sockets, the file given the
 * configured mode) and loopback TCP ports. One thread of its own: a command that changes a backend waits there for
 * the backends' owner, never on a forwarding event loop. As HAProxy: without {@code prompt} a connection runs one
 * line (its {@code ;}-separated commands) and is closed; with {@code prompt} it stays, answering each line after a
 * {@code "> "} prompt, until {@code quit} or {@code stats timeout} of idleness.
 */
public final class StatsSocket implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StatsSocket.class);

    /** Longest command line, as HAProxy's CLI buffer (bufsize 16 kB); a longer one is refused. */
    static final int MAX_LINE = 16 * 1024;

    private final EventLoopGroup group;
    private final List<Channel> channels = new ArrayList<>();
    private final List<Path> files = new ArrayList<>();

    private StatsSocket(EventLoopGroup group) {
        this.group = group;
    }

    /** Opens every configured socket, or throws (releasing what it opened) with a message naming the socket. */
    public static StatsSocket open(Proxy proxy, List<StatsSocketConfig> configs, long timeoutMs) throws IOException {
        boolean epoll = Epoll.isAvailable();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("planetary-cli", true),
            epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        StatsSocket sock = new StatsSocket(group);
        RuntimeApi api = new RuntimeApi(proxy);
        try {
            for (StatsSocketConfig c : configs) {
                sock.bind(c, api, timeoutMs, epoll);
            }
        } catch (IOException | RuntimeException e) {
            sock.close();
            throw e;
        }
        return sock;
    }

    private void bind(StatsSocketConfig c, RuntimeApi api, long timeoutMs, boolean epoll) throws IOException {
        // half-closure: "echo cmd | socat" sends its line and its FIN together; the answer must still go out
        ServerBootstrap sb = new ServerBootstrap().group(group)
            .childOption(io.netty.channel.ChannelOption.ALLOW_HALF_CLOSURE, true)
            .childHandler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new IdleStateHandler(0, 0, timeoutMs, TimeUnit.MILLISECONDS),
                    new LineBasedFrameDecoder(MAX_LINE), new StringDecoder(StandardCharsets.UTF_8),
                    new Cli(api, new RuntimeApi.Session(c.level())));
            }
        });
        if (c.unix()) {
            if (!epoll) {
                throw new IOException("stats socket " + c.where() + ": unix sockets need the native epoll transport ("
                    + Epoll.unavailabilityCause() + "); use 'stats socket ipv4@127.0.0.1:PORT'");
            }
            Path path = Path.of(c.path());
            refuseLive(path);
            Files.deleteIfExists(path); // a stale file of a process that is gone
            Channel ch = sb.channel(EpollServerDomainSocketChannel.class)
                .bind(new DomainSocketAddress(path.toFile())).awaitUninterruptibly().channel();
            if (!ch.isActive()) {
                throw new IOException("stats socket " + c.where() + ": cannot bind");
            }
            channels.add(ch);
            files.add(path);
            int mode = c.mode() >= 0 ? c.mode() : StatsSocketConfig.DEFAULT_MODE;
            Files.setPosixFilePermissions(path, permissions(mode));
        } else {
            var f = sb.channel(epoll ? io.netty.channel.epoll.EpollServerSocketChannel.class
                    : NioServerSocketChannel.class).bind(new InetSocketAddress(c.host(), c.port()))
                .awaitUninterruptibly();
            if (!f.isSuccess()) {
                throw new IOException("stats socket " + c.where() + ": cannot bind: " + f.cause().getMessage());
            }
            channels.add(f.channel());
        }
        LOG.info("stats socket listening on {} (level {})", c.where(), c.level().name().toLowerCase());
    }

    /** Binding deletes what is at the path: a socket another process still serves is refused instead. */
    private static void refuseLive(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            throw new IOException("stats socket " + path + ": another process is listening on it (stop it, or"
                + " choose another path)");
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().contains("another process")) {
                throw e;
            }
            // nobody listens: a stale socket file, replaced below
        }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < 9; bit++) {
            if ((mode & (1 << bit)) != 0) {
                set.add(order[bit]);
            }
        }
        return set;
    }

    @Override
    public void close() {
        for (Channel ch : channels) {
            ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        for (Path p : files) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // the socket file is gone or its directory is read-only: nothing else to do
            }
        }
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** One CLI connection. */
    private static final class Cli extends SimpleChannelInboundHandler<String> {
        private final RuntimeApi api;
        private final RuntimeApi.Session session;
        private boolean closing;

        Cli(RuntimeApi api, RuntimeApi.Session session) {
            this.api = api;
            this.session = session;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, String line) {
            if (closing) {
                return; // lines after the one a non-interactive connection runs are ignored, as HAProxy does
            }
            String cmdLine = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
            String out = api.runLine(cmdLine, session);
            if (session.quit() || !session.prompt()) {
                closing = true;
                ctx.writeAndFlush(ByteBufUtil.writeUtf8(ctx.alloc(), out)).addListener(ChannelFutureListener.CLOSE);
                ctx.channel().config().setAutoRead(false);
            } else {
                ctx.writeAndFlush(ByteBufUtil.writeUtf8(ctx.alloc(), out + "> "));
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent) {
                ctx.close(); // stats timeout
            } else if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent && !closing) {
                closing = true; // the client is done sending: close once what was written is out
                ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof TooLongFrameException) {
                ctx.writeAndFlush(ByteBufUtil.writeUtf8(ctx.alloc(), "Command line too long.\n\n"))
                    .addListener(ChannelFutureListener.CLOSE);
            } else {
                ctx.close();
            }
        }
    }
}
