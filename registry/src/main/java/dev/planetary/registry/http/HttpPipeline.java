package dev.planetary.registry.http;

import dev.planetary.registry.Genesis;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/** Per connection: HTTP/1.1 codec, 64 KiB aggregation (413 beyond), an idle timeout, the API. */
public final class HttpPipeline extends ChannelInitializer<Channel> {

    /** Request bodies over this get 413 (the limit). */
    public static final int MAX_BODY = 64 * 1024;
    /** A connection with no request for this long is closed (a VM heartbeats every 5 s; watch streams exempt). */
    static final int IDLE_SECONDS = 120;

    private final Genesis genesis;
    private final boolean vmOnly;

    public HttpPipeline(Genesis genesis, boolean vmOnly) {
        this.genesis = genesis;
        this.vmOnly = vmOnly;
    }

    @Override
    protected void initChannel(Channel ch) {
        ch.pipeline()
            .addLast(Genesis.IDLE_HANDLER, new IdleStateHandler(IDLE_SECONDS, 0, 0, TimeUnit.SECONDS))
            .addLast(new HttpServerCodec(4096, 8192, 8192))
            .addLast(new JsonAggregator(MAX_BODY))
            .addLast(new ApiHandler(genesis, vmOnly));
    }
}
