package dev.planetary.registry.client;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.ReadTimeoutException;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/1.1 request on its own connection ({@code Connection: close}), optionally from a given source address.
 * The future completes on {@code loop}: with the reply for any HTTP status, exceptionally when no reply came
 * (refused, timed out, reset, or an answer too long).
 */
final class HttpCall {

    /** The reply: status and body. */
    record Reply(int status, byte[] body) {
    }

    /** Largest answer read: Genesis' registration answer carries the peers (about 120 bytes each, 1,999 at most). */
    static final int MAX_REPLY_BYTES = 4 << 20;

    private HttpCall() {
    }

    /** A connect failure in a few words: "Connection refused", not the native call and errno around it. */
    static String brief(Throwable c) {
        if (c == null) {
            return "cancelled";
        }
        if (c.getMessage() == null) {
            return c.getClass().getSimpleName(); // e.g. ClosedChannelException: its name is the message
        }
        String m = c.getMessage();
        java.util.regex.Matcher x = NATIVE.matcher(m);
        return x.find() ? x.group(1) : m;
    }

    private static final java.util.regex.Pattern NATIVE = java.util.regex.Pattern.compile("error\\(-\\d+\\): ([^:]+)");

    static CompletableFuture<Reply> send(EventLoop loop, Endpoint to, String method, String path, byte[] body,
                                         String token, InetAddress source, Duration connectTimeout,
                                         Duration timeout) {
        return send(loop, to, method, path, body, token, java.util.Map.of(), source, connectTimeout, timeout);
    }

    /** With extra request headers (e.g. a VM's secret on its registration). */
    static CompletableFuture<Reply> send(EventLoop loop, Endpoint to, String method, String path, byte[] body,
                                         String token, java.util.Map<String, String> headers, InetAddress source,
                                         Duration connectTimeout, Duration timeout) {
        CompletableFuture<Reply> result = new CompletableFuture<>();
        Bootstrap b = new Bootstrap().group(loop).channel(Transport.channel())
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()))
            .option(ChannelOption.TCP_NODELAY, true)
            .handler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    ch.pipeline().addLast(new ReadTimeoutHandler(timeout.toMillis(), TimeUnit.MILLISECONDS));
                    ch.pipeline().addLast(new HttpClientCodec());
                    ch.pipeline().addLast(new HttpObjectAggregator(MAX_REPLY_BYTES));
                    ch.pipeline().addLast(new SimpleChannelInboundHandler<FullHttpResponse>() {
                        @Override
                        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse r) {
                            if (r.decoderResult().isFailure()) {
                                result.completeExceptionally(new java.io.IOException("malformed HTTP answer: "
                                    + r.decoderResult().cause()));
                            } else {
                                result.complete(new Reply(r.status().code(), ByteBufUtil.getBytes(r.content())));
                            }
                            ctx.close();
                        }

                        @Override
                        public void channelInactive(ChannelHandlerContext ctx) {
                            result.completeExceptionally(new java.io.IOException("connection closed before an "
                                + "answer"));
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            String why = cause instanceof ReadTimeoutException ? "no answer within "
                                + timeout.toMillis() + " ms" : cause instanceof TooLongFrameException
                                ? "answer too long" : brief(cause); // "Connection reset by peer", no class name
                            result.completeExceptionally(new java.io.IOException(why));
                            ctx.close();
                        }
                    });
                }
            });
        ChannelFuture cf = source == null ? b.connect(to.host(), to.port())
            : b.connect(new InetSocketAddress(to.host(), to.port()), new InetSocketAddress(source, 0));
        cf.addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                Throwable c = f.cause();
                result.completeExceptionally(new java.io.IOException("cannot connect to " + to.host() + ":"
                    + to.port() + (source != null ? " from " + source.getHostAddress() : "") + ": "
                    + brief(c), c));
                return;
            }
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method),
                to.prefix() + path, body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
            req.headers().set(HttpHeaderNames.HOST, to.hostHeader());
            req.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            req.headers().set(HttpHeaderNames.ACCEPT, HttpHeaderValues.APPLICATION_JSON);
            req.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, req.content().readableBytes());
            if (body != null) {
                req.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
            }
            if (token != null) {
                req.headers().set(HttpHeaderNames.AUTHORIZATION, "Bearer " + token);
            }
            headers.forEach((k, v) -> req.headers().set(k, v));
            f.channel().writeAndFlush(req).addListener((ChannelFuture w) -> {
                if (!w.isSuccess()) {
                    result.completeExceptionally(new java.io.IOException("sending the request: " + w.cause()));
                    w.channel().close();
                }
            });
        });
        return result;
    }
}
