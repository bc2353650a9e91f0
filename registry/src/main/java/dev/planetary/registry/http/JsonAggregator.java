package dev.planetary.registry.http;

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

/**
 * Netty's aggregator with the registry's error form: a body over the limit gets 413 as JSON
 * ({@code {"error": ...}}), also when announced with {@code Expect: 100-continue}, and the connection is closed
 * (the rest of the body is not read).
 */
final class JsonAggregator extends HttpObjectAggregator {

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
        ctx.writeAndFlush(tooLarge()).addListener(ChannelFutureListener.CLOSE);
    }
}
