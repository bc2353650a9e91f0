package dev.planetary.swarm;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * In front of the WebSocket handshake: a request that asks for the WebSocket upgrade goes on to it (on any path); any
 * other {@code GET /} gets the test page, which opens a WebSocket to the host it was loaded from (through the proxy's
 * port 32000) and shows which VM answered. Other paths: 404. One request per connection (then closed): the page is
 * small and the socket is what matters.
 */
final class WsPageHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    /** The page, with {@code {{VM}}} replaced by the serving VM's id. */
    static final String PAGE = load();

    private final VmIdentity vm;
    private final Traffic traffic;

    WsPageHandler(VmIdentity vm, Traffic traffic) {
        super(false); // an upgrade request is passed on, not released here
        this.vm = vm;
        this.traffic = traffic;
    }

    private static String load() {
        try (InputStream in = WsPageHandler.class.getResourceAsStream("ws.html")) {
            if (in == null) {
                throw new IllegalStateException("ws.html missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (req.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
            ctx.fireChannelRead(req);
            return;
        }
        try {
            FullHttpResponse res;
            boolean page = (req.method().equals(HttpMethod.GET) || req.method().equals(HttpMethod.HEAD))
                && (req.uri().equals("/") || req.uri().startsWith("/?"));
            if (page) {
                byte[] body = PAGE.replace("{{VM}}", vm.id()).getBytes(StandardCharsets.UTF_8);
                res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    req.method().equals(HttpMethod.HEAD) ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
                res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/html; charset=utf-8")
                    .set(HttpHeaderNames.CONTENT_LENGTH, body.length)
                    .set(HttpHeaderNames.CACHE_CONTROL, "no-store");
            } else {
                byte[] body = "not found: the page is / and the WebSocket accepts any path\n"
                    .getBytes(StandardCharsets.UTF_8);
                res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND,
                    Unpooled.wrappedBuffer(body));
                res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                    .set(HttpHeaderNames.CONTENT_LENGTH, body.length);
            }
            res.headers().set("X-Planetary-Vm", vm.id()).set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            traffic.bytesOut.add(res.content().readableBytes());
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        } finally {
            req.release();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
