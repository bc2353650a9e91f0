package dev.planetary.registry.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.channel.socket.DuplexChannel;
import java.util.concurrent.TimeUnit;

/**
 * Netty's aggregator with the registry's error form: a body over the limit gets 413 as JSON
 * ({@code {"error": ...}}), also when announced with {@code Expect: 100-continue}, and the connection is closed
 * after a lingering close (the rest of the body is read and thrown away for a moment, never buffered).
 */
final class JsonAggregator extends HttpObjectAggregator {

    /**
     * How long a connection that got a 413 keeps reading (and discarding) the rest of its body after our FIN. Closing
     * while the client is still sending makes the kernel answer with a reset, and the client loses the 413 it was
     * sent (HAProxy and nginx linger for the same reason); 2 s covers a few MB on any network a VM uses.
     */
    static final long LINGER_MS = 2_000;

    private final int max;

    JsonAggregator(int max) {
        super(max, true);
        this.max = max;
    }

    private FullHttpResponse tooLarge() {
        FullHttpResponse r = ApiHandler.errorResponse(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
            "request body too large: at most " + max + " bytes (64 KiB)");
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return r;
    }

    @Override
    protected Object newContinueResponse(HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
        if (HttpUtil.is100ContinueExpected(start) && HttpUtil.getContentLength(start, -1L) > maxContentLength) {
            return tooLarge();
        }
        return super.newContinueResponse(start, maxContentLength, pipeline);
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
        // The aggregator drops the body's remaining content from here on; the channel keeps reading it until the
        // client closes (after reading our answer) or the linger time is up.
        ctx.writeAndFlush(tooLarge()).addListener((ChannelFutureListener) JsonAggregator::lingerThenClose);
    }

    /** After a final answer was written: FIN now, go on reading (and dropping) what the client still sends, close. */
    static void lingerThenClose(io.netty.channel.ChannelFuture f) {
        Channel ch = f.channel();
        if (!f.isSuccess() || !(ch instanceof DuplexChannel)) {
            ch.close();
            return;
        }
        ((DuplexChannel) ch).shutdownOutput();
        ch.eventLoop().schedule(() -> {
            ch.close();
        }, LINGER_MS, TimeUnit.MILLISECONDS);
    }
}
