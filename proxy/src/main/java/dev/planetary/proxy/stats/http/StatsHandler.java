package dev.planetary.proxy.stats.http;

import dev.planetary.core.config.StatsPageConfig;
import dev.planetary.proxy.stats.CsvFormat;
import dev.planetary.proxy.stats.StatFilter;
import dev.planetary.proxy.stats.StatsSnapshot;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateEvent;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers one stats page request, as HAProxy's stats applet: GET or HEAD only; {@code stats auth} (HTTP basic, 401
 * with the realm) before anything else, {@code /metrics} included; the exporter's path gets Prometheus text; a path
 * under {@code stats uri} gets the HTML page, or the {@code show stat} CSV when {@code ;csv} follows the uri
 * anywhere ({@code /;csv}, {@code /?stats;csv}); anything else is HAProxy's 503. Shared by every connection of the
 * page (it keeps no per-request state).
 */
@ChannelHandler.Sharable
final class StatsHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger LOG = LoggerFactory.getLogger(StatsHandler.class);

    private static final String UNAUTHORIZED = "<html><body><h1>401 Unauthorized</h1>\n"
        + "You need a valid user and password to access this content.\n</body></html>\n";
    private static final String NOT_ALLOWED = "<html><body><h1>405 Method Not Allowed</h1>\n"
        + "The stats page answers GET and HEAD only.\n</body></html>\n";
    private static final String NO_SERVER = "<html><body><h1>503 Service Unavailable</h1>\n"
        + "No server is available to handle this request.\n</body></html>\n";
    private static final String FAILED = "<html><body><h1>500 Internal Server Error</h1>\n"
        + "The statistics could not be collected; see the proxy's log.\n</body></html>\n";

    private final StatsPageConfig config;
    private final StatsSource source;
    private final BasicAuth auth;
    private final Clock clock;

    StatsHandler(StatsPageConfig config, StatsSource source, Clock clock) {
        super(true);
        this.config = config;
        this.source = source;
        this.auth = new BasicAuth(config.users());
        this.clock = clock;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        boolean head = req.method().equals(HttpMethod.HEAD);
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        if (!req.decoderResult().isSuccess()) {
            send(ctx, req, false, HttpResponseStatus.BAD_REQUEST, "text/plain", "bad request\n", false);
            return;
        }
        if (!head && !req.method().equals(HttpMethod.GET)) {
            FullHttpResponse r = response(HttpResponseStatus.METHOD_NOT_ALLOWED, "text/html", NOT_ALLOWED, false);
            r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            write(ctx, r, keepAlive);
            return;
        }
        if (!auth.accepts(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
            FullHttpResponse r = response(HttpResponseStatus.UNAUTHORIZED, "text/html", UNAUTHORIZED, head);
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Basic realm=\"" + config.realm() + "\"");
            write(ctx, r, keepAlive);
            return;
        }
        String uri = req.uri();
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        try {
            String prometheus = config.prometheusPath();
            if (prometheus != null && (prometheus.isEmpty() || prometheus.equals(path))) {
                StatsSnapshot s = source.snapshot();
                send(ctx, req, keepAlive, HttpResponseStatus.OK, PrometheusExporter.CONTENT_TYPE,
                    PrometheusExporter.render(s, source.genesis(), source.histograms()), head);
            } else if (uri.startsWith(config.uri())) {
                String rest = uri.substring(config.uri().length());
                StatsSnapshot s = source.snapshot();
                if (rest.contains(";csv")) {
                    send(ctx, req, keepAlive, HttpResponseStatus.OK, "text/plain",
                        CsvFormat.csv(s, StatFilter.ALL), head);
                } else {
                    FullHttpResponse r = response(HttpResponseStatus.OK, "text/html; charset=utf-8",
                        StatsPage.render(config, s, source.genesis(), clock.instant()), head);
                    if (config.refreshMs() > 0 && !rest.contains(";norefresh")) {
                        r.headers().set("Refresh", Long.toString(Math.max(1, config.refreshMs() / 1000)));
                    }
                    write(ctx, r, keepAlive);
                }
            } else {
                send(ctx, req, keepAlive, HttpResponseStatus.SERVICE_UNAVAILABLE, "text/html", NO_SERVER, head);
            }
        } catch (RuntimeException e) {
            LOG.warn("stats page: could not answer {}: {}", path, e.toString());
            send(ctx, req, false, HttpResponseStatus.INTERNAL_SERVER_ERROR, "text/html", FAILED, head);
        }
    }

    private void send(ChannelHandlerContext ctx, FullHttpRequest req, boolean keepAlive, HttpResponseStatus status,
                      String type, String body, boolean head) {
        write(ctx, response(status, type, body, head), keepAlive);
    }

    /** A response with HAProxy's no-cache header; for HEAD the length of the body it would have, and no body. */
    private static FullHttpResponse response(HttpResponseStatus status, String type, String body, boolean head) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ByteBuf content = head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, type)
            .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE)
            .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        return r;
    }

    /** Sends the response; closes the connection after it unless the client keeps it alive. */
    private static void write(ChannelHandlerContext ctx, FullHttpResponse r, boolean keepAlive) {
        HttpUtil.setKeepAlive(r, keepAlive);
        ChannelFuture sent = ctx.writeAndFlush(r);
        if (!keepAlive) {
            sent.addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            ctx.close(); // timeout client: an idle keep-alive connection
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close(); // a reset or a malformed stream: the client is gone, nothing to answer
    }
}
