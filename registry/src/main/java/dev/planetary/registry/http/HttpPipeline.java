package dev.planetary.registry.http;

import dev.planetary.registry.Genesis;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http.HttpServerCodec;

/**
 * Per connection: the connection caps, the request and idle timeouts (on raw bytes), the HTTP/1.1 codec, the
 * credential check on the headers (before any body is read), 64 KiB aggregation (413 beyond), the API.
 */
public final class HttpPipeline extends ChannelInitializer<Channel> {

    /** Request bodies over this get 413 (the limit). */
    public static final int MAX_BODY = 64 * 1024;

    private final Genesis genesis;
    private final boolean vmOnly;

    public HttpPipeline(Genesis genesis, boolean vmOnly) {
        this.genesis = genesis;
        this.vmOnly = vmOnly;
    }

    /** For a listening channel: back off (and report the fault) when accepting fails. */
    public static io.netty.channel.ChannelHandler acceptBackoff(dev.planetary.registry.state.Faults faults,
                                                                dev.planetary.registry.state.Clock clock) {
        return new AcceptBackoff(faults, clock);
    }

    @Override
    protected void initChannel(Channel ch) {
        Connections c = genesis.connections();
        genesis.accepted().add(ch);
        ch.pipeline()
            .addLast(c.gate())
            .addLast(Deadlines.NAME, new Deadlines(c.limits(), c))
            .addLast(new HttpServerCodec(4096, 8192, 8192))
            .addLast(new Credentials(genesis, c))
            .addLast(new JsonAggregator(MAX_BODY))
            .addLast(new ApiHandler(genesis, vmOnly));
    }
}
