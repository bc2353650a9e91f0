package dev.planetary.proxy.stats.http;

import dev.planetary.core.config.Bind;
import dev.planetary.core.config.StatsPageConfig;
import dev.planetary.proxy.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The stats pages' HTTP listeners ({@code listen stats} sections), served by one event loop of their own
 * ({@code planetary-stats}), not the proxy's: rendering a page or /metrics for a swarm of thousands of servers takes
 * milliseconds of CPU, which on a data-plane loop would be a pause in every connection that loop relays. One thread
 * is plenty for a page a few people and one Prometheus read every few seconds.
 */
public final class StatsHttpServer implements AutoCloseable {

    /** Largest request accepted: a GET with headers and basic auth; a body has nothing to do here. */
    static final int MAX_REQUEST_BYTES = 16 * 1024;
    /** Idle keep-alive connections close after this when the section sets no {@code timeout client}. */
    static final long DEFAULT_IDLE_MS = TimeUnit.SECONDS.toMillis(60);

    private final EventLoopGroup group;
    private final List<Channel> listeners = new ArrayList<>();

    private StatsHttpServer(EventLoopGroup group) {
        this.group = group;
    }

    /**
     * Listens on every bind of every page.
     *
     * @throws IllegalStateException naming the section, line and address, when a port cannot be bound (everything
     *                               opened is closed again)
     */
    public static StatsHttpServer start(List<StatsPageConfig> pages, StatsSource source, Transport transport,
                                        Clock clock) {
        StatsHttpServer server = new StatsHttpServer(transport.newGroup(1, "planetary-stats"));
        try {
            for (StatsPageConfig page : pages) {
                StatsHandler handler = new StatsHandler(page, source, clock);
                long idleMs = page.clientTimeoutMs() > 0 ? page.clientTimeoutMs() : DEFAULT_IDLE_MS;
                ServerBootstrap b = new ServerBootstrap().group(server.group)
                    .channel(transport.serverChannel())
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new IdleStateHandler(0, 0, idleMs, TimeUnit.MILLISECONDS))
                                .addLast(new HttpServerCodec(4096, 8192, 8192))
                                .addLast(new HttpServerExpectContinueHandler())
                                .addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES))
                                .addLast(handler);
                        }
                    });
                for (Bind bind : page.binds()) {
                    for (int port = bind.lowPort(); port <= bind.highPort(); port++) {
                        InetSocketAddress addr = bind.host() == null ? new InetSocketAddress(port)
                            : new InetSocketAddress(bind.host(), port);
                        ChannelFuture f = b.bind(addr).awaitUninterruptibly();
                        if (!f.isSuccess()) {
                            throw new IllegalStateException("cannot bind stats page '" + page.name() + "' "
                                + bind.origin() + " " + bind + ": " + f.cause().getMessage());
                        }
                        server.listeners.add(f.channel());
                    }
                }
            }
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    /** The addresses listened on (tests read the ports of binds given as port 0). */
    public List<InetSocketAddress> addresses() {
        List<InetSocketAddress> out = new ArrayList<>();
        for (Channel c : listeners) {
            out.add((InetSocketAddress) c.localAddress());
        }
        return out;
    }

    @Override
    public void close() {
        for (Channel c : listeners) {
            c.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
    }
}
