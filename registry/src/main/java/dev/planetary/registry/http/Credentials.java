package dev.planetary.registry.http;

import dev.planetary.registry.Genesis;
import dev.planetary.registry.state.Vm;
import dev.planetary.registry.state.VmSecret;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The credential check of changing requests, on their headers, before any of the body is read (between the HTTP
 * decoder and the aggregator): a request without the right credential is answered 401 or 403 and its body is thrown
 * away as it arrives, never buffered; the connection is closed after a lingering close.
 * <ul>
 * <li>{@code POST /api/vms} (register): the join token.</li>
 * <li>{@code PUT /api/vms/ID/heartbeat}, {@code DELETE /api/vms/ID} (leave): the VM's own secret. A VM registered
 * before Genesis gave out secrets (it has none yet) is still taken with the join token from its registered address,
 * until its next registration gives it a secret. An unknown id passes on (to be answered 404: register again).</li>
 * </ul>
 * Reads need no credential.
 */
final class Credentials extends ChannelInboundHandlerAdapter {

    private static final Pattern VM_CHANGE = Pattern.compile("/api/vms/(vm_[0-9a-f]{6})(/heartbeat)?");

    private final Genesis genesis;
    private final Connections counts;
    private boolean discarding;

    Credentials(Genesis genesis, Connections counts) {
        this.genesis = genesis;
        this.counts = counts;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (discarding) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest req && !req.decoderResult().isFailure()) {
            ApiException refused = check(ctx, req);
            if (refused != null) {
                discarding = true;
                ReferenceCountUtil.release(msg);
                counts.rejected();
                refuse(ctx, refused);
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    /** Null when the request may go on. */
    private ApiException check(ChannelHandlerContext ctx, HttpRequest req) {
        String path = new QueryStringDecoder(req.uri()).path();
        HttpMethod m = req.method();
        String bearer = bearer(req);
        if (path.equals("/api/vms") && m.equals(HttpMethod.POST)) {
            if (bearer == null) {
                return new ApiException(HttpResponseStatus.UNAUTHORIZED,
                    "missing join token: send 'Authorization: Bearer <token>'");
            }
            return isJoinToken(bearer) ? null : new ApiException(HttpResponseStatus.UNAUTHORIZED, "wrong join token");
        }
        Matcher vm = VM_CHANGE.matcher(path);
        boolean heartbeat = vm.matches() && vm.group(2) != null && m.equals(HttpMethod.PUT);
        boolean leave = vm.matches() && vm.group(2) == null && m.equals(HttpMethod.DELETE);
        if (!heartbeat && !leave) {
            return null;
        }
        String id = vm.group(1);
        if (bearer == null) {
            return new ApiException(HttpResponseStatus.UNAUTHORIZED,
                "missing credential: send 'Authorization: Bearer <secret>' with the secret " + id
                    + "'s registration returned");
        }
        Vm known = genesis.hub().view().vms().get(id);
        if (known == null) {
            return null; // answered 404 by the API: the VM registers again
        }
        if (known.secretHash() != null) {
            return VmSecret.matches(known.secretHash(), bearer) ? null
                : new ApiException(HttpResponseStatus.FORBIDDEN, "not " + id + "'s secret: "
                    + (heartbeat ? "a heartbeat" : "a leave") + " takes the secret the VM's registration returned");
        }
        // registered before secrets: the join token, from the VM's own address, until it registers again
        String source = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress().getHostAddress();
        return isJoinToken(bearer) && source.equals(known.ip()) ? null
            : new ApiException(HttpResponseStatus.FORBIDDEN, id + " has no secret yet: only its own address ("
                + "with the join token) may send this until it registers again");
    }

    private boolean isJoinToken(String bearer) {
        // constant time: both sides are hashed first, so neither content nor length leaks through timing
        byte[] given = ApiHandler.sha256(bearer.getBytes(StandardCharsets.UTF_8));
        return MessageDigest.isEqual(given, genesis.tokenDigest());
    }

    /** The bearer credential, or null when there is none. */
    static String bearer(HttpRequest req) {
        String h = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        String t = h.substring(7).trim();
        return t.isEmpty() ? null : t;
    }

    private static void refuse(ChannelHandlerContext ctx, ApiException e) {
        FullHttpResponse r = ApiHandler.errorResponse(e.status(), e.getMessage());
        if (e.status() == HttpResponseStatus.UNAUTHORIZED) {
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"genesis\"");
        }
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(r).addListener((ChannelFutureListener) JsonAggregator::lingerThenClose);
    }
}
