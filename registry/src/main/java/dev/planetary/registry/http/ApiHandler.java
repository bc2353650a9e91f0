package dev.planetary.registry.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.planetary.core.ports.PortKind;
import dev.planetary.core.ports.PortPlan;
import dev.planetary.core.ports.Reservations.Reservation;
import dev.planetary.registry.Genesis;
import dev.planetary.registry.Json;
import dev.planetary.registry.Writer;
import dev.planetary.registry.state.Registration;
import dev.planetary.registry.state.Registry;
import dev.planetary.registry.state.View;
import dev.planetary.registry.state.Vm;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API on one connection: routing, the token check, body validation, and answers as JSON. Changing requests
 * go to the {@link Writer} and are answered once durable; reads are served from the current immutable view on the
 * event loop. Every error is {@code {"error": "..."}}, never a stack trace.
 */
public final class ApiHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger LOG = LoggerFactory.getLogger(ApiHandler.class);
    private static final Pattern VM_PATH = Pattern.compile("/api/vms/(vm_[0-9a-f]{6})");
    private static final Pattern HEARTBEAT_PATH = Pattern.compile("/api/vms/(vm_[0-9a-f]{6})/heartbeat");
    private static final Pattern ANY_VM_PATH = Pattern.compile("/api/vms/[^/]+(/heartbeat)?");
    /** Mesh links per page by default, and at most (a page of 10,000 links is about 0.5 MB). */
    static final int MESH_PAGE = 1_000;
    static final int MESH_PAGE_MAX = 10_000;

    private static final byte[] PEERS_FIELD = ",\"peers\":".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE_BRACE = {'}'};

    /** Names the history the stream's versions belong to; registry-client's SwarmWatch reads it. */
    public static final String HISTORY_HEADER = "Genesis-History";
    /**
     * How long a resume from a version this instance has not reached waits for it by default (the option is
     * {@code Genesis.Options.catchUp}; the client sends its view's {@link #HISTORY_HEADER}: the same history, so this
     * instance is merely behind). Applying another instance's commit takes milliseconds; 2 s covers a busy writer
     * round and still answers well within a client's read timeout.
     */
    public static final long CATCH_UP_MILLIS = 2_000;

    private final Genesis genesis;
    private final boolean vmOnly;
    private Sse sse;
    /** Set when a watch starts (before its stream moves to the watch loop): no further requests on it. */
    private boolean watching;

    public ApiHandler(Genesis genesis, boolean vmOnly) {
        super(true);
        this.genesis = genesis;
        this.vmOnly = vmOnly;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (watching) {
            return; // a watch stream takes no further requests
        }
        Deadlines d = ctx.pipeline().get(Deadlines.class);
        if (d != null) {
            d.requestComplete();
        }
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        if (req.decoderResult().isFailure()) {
            error(ctx, false, new ApiException(HttpResponseStatus.BAD_REQUEST, "malformed HTTP request"));
            return;
        }
        try {
            route(ctx, req, keepAlive);
        } catch (ApiException e) {
            error(ctx, keepAlive, e);
        } catch (RuntimeException e) {
            LOG.error("internal error on {} {}: {}", req.method(), safePath(req.uri()), e.toString());
            error(ctx, keepAlive, new ApiException(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error"));
        }
    }

    private void route(ChannelHandlerContext ctx, FullHttpRequest req, boolean keepAlive) throws ApiException {
        QueryStringDecoder q = new QueryStringDecoder(req.uri());
        String path = q.path();
        HttpMethod m = req.method();
        Matcher hb = HEARTBEAT_PATH.matcher(path);
        Matcher vm = VM_PATH.matcher(path);
        if (path.equals("/api/vms")) {
            if (m.equals(HttpMethod.POST)) {
                register(ctx, req, keepAlive);
            } else if (m.equals(HttpMethod.GET) && !vmOnly) {
                json(ctx, keepAlive, HttpResponseStatus.OK, listVms(operator(req)));
            } else {
                notAllowed(vmOnly ? "POST" : "GET, POST");
            }
        } else if (hb.matches()) {
            if (!m.equals(HttpMethod.PUT)) {
                notAllowed("PUT");
            }
            heartbeat(ctx, req, keepAlive, hb.group(1));
        } else if (vm.matches()) {
            if (m.equals(HttpMethod.DELETE)) {
                leave(ctx, req, keepAlive, vm.group(1));
            } else if (m.equals(HttpMethod.GET) && !vmOnly) {
                View v = genesis.hub().view();
                Vm found = v.vms().get(vm.group(1));
                if (found == null) {
                    throw new ApiException(HttpResponseStatus.NOT_FOUND, "no VM " + vm.group(1));
                }
                json(ctx, keepAlive, HttpResponseStatus.OK, Json.vm(found, v.liveness().get(found.id()),
                    genesis.clock().nanos(), operator(req)));
            } else {
                notAllowed(vmOnly ? "DELETE" : "GET, DELETE");
            }
        } else if (ANY_VM_PATH.matcher(path).matches()) {
            throw new ApiException(HttpResponseStatus.NOT_FOUND, "no VM '" + safePath(path.substring(9).split("/")[0])
                + "' (an id is vm_ and 6 lowercase hex digits)");
        } else if (vmOnly) {
            throw new ApiException(HttpResponseStatus.NOT_FOUND, "not found: this listener serves only "
                + "POST /api/vms, PUT /api/vms/{id}/heartbeat and DELETE /api/vms/{id}");
        } else {
            read(ctx, req, keepAlive, q, path, m);
        }
    }

    private void read(ChannelHandlerContext ctx, FullHttpRequest req, boolean keepAlive, QueryStringDecoder q,
                      String path, HttpMethod m) throws ApiException {
        boolean known = switch (path) {
            case "/", "/index.html", "/api/health", "/api/pcpu/count", "/api/mesh", "/api/ports", "/api/ports/plan",
                "/api/watch" -> true;
            default -> false;
        };
        if (!known) {
            throw new ApiException(HttpResponseStatus.NOT_FOUND, "not found: " + safePath(path));
        }
        if (!m.equals(HttpMethod.GET) && !m.equals(HttpMethod.HEAD)) {
            notAllowed("GET");
        }
        View v = genesis.hub().view();
        switch (path) {
            case "/", "/index.html" -> {
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.wrappedBuffer(Dashboard.html()));
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/html; charset=utf-8");
                r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
                r.headers().set("Content-Security-Policy",
                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'");
                send(ctx, keepAlive, r);
            }
            case "/api/health" -> json(ctx, keepAlive, HttpResponseStatus.OK, health(v));
            case "/api/pcpu/count" -> {
                ObjectNode n = Json.object();
                n.put("vms", v.activeCount());
                n.put("cores", v.totalCores());
                n.put("version", v.version());
                json(ctx, keepAlive, HttpResponseStatus.OK, n);
            }
            case "/api/mesh" -> json(ctx, keepAlive, HttpResponseStatus.OK, mesh(v, q));
            case "/api/ports" -> json(ctx, keepAlive, HttpResponseStatus.OK, ports(v));
            case "/api/ports/plan" -> json(ctx, keepAlive, HttpResponseStatus.OK, plan(v));
            case "/api/watch" -> watch(ctx, req, q);
            default -> throw new ApiException(HttpResponseStatus.NOT_FOUND, "not found");
        }
    }

    // ---- changing requests ----

    private void register(ChannelHandlerContext ctx, FullHttpRequest req, boolean keepAlive) throws ApiException {
        // the join token was checked on the headers (Credentials)
        Registration r = Bodies.registration(ByteBufUtil.getBytes(req.content()));
        String source = sourceIp(ctx);
        String ip = r.ip() == null ? source : r.ip();
        if (!ip.equals(source) && !genesis.options().allowDeclaredIp()) {
            throw new ApiException(HttpResponseStatus.FORBIDDEN, "field 'ip' (" + ip + ") is not the address this "
                + "request comes from (" + source + "); a VM registers its own address (start the registry with "
                + "--allow-declared-ip for NAT set-ups)");
        }
        String presented = req.headers().get(Registry.SECRET_HEADER);
        Registry.Caller caller = new Registry.Caller(source, presented == null ? null : presented.trim());
        CompletableFuture<Registry.Registered> f = genesis.writer().submit((reg, now, wall) ->
            reg.register(r, ip, caller, now, wall), true);
        f.whenCompleteAsync((done, err) -> {
            if (err != null) {
                error(ctx, keepAlive, failure(err));
                return;
            }
            ObjectNode n = Json.object();
            Vm vm = done.vm();
            genesis.beat(vm.id());
            n.put("id", vm.id());
            if (vm.instance() != null) {
                n.put("instance", vm.instance());
            }
            n.put("ip", vm.ip());
            if (done.secret() != null) {
                // the only time the secret leaves Genesis: heartbeats and leave of this VM take it from now on
                n.put("secret", done.secret());
            }
            n.set("ports", Json.ports(vm.ports()));
            n.put("heartbeat_interval_ms", genesis.options().settings().heartbeatInterval().toMillis());
            n.put("ttl_ms", genesis.options().settings().ttl().toMillis());
            n.put("version", done.version());
            // {...head, "peers": [...]}: the peers array is shared bytes (see Peers), spliced in without a copy
            byte[] head = Json.bytes(n);
            ByteBuf body = Unpooled.wrappedBuffer(Unpooled.wrappedBuffer(head, 0, head.length - 1),
                Unpooled.wrappedBuffer(PEERS_FIELD), genesis.peers().of(genesis.hub().view(), vm.id()),
                Unpooled.wrappedBuffer(CLOSE_BRACE));
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                done.created() ? HttpResponseStatus.CREATED : HttpResponseStatus.OK, body);
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
            send(ctx, keepAlive, res);
        }, ctx.executor());
    }

    private void heartbeat(ChannelHandlerContext ctx, FullHttpRequest req, boolean keepAlive, String id)
        throws ApiException {
        // the VM's secret was checked on the headers (Credentials)
        double[] load = Bodies.heartbeat(ByteBufUtil.getBytes(req.content()));
        String failed = genesis.writer().failure();
        if (failed != null) {
            throw new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, failed);
        }
        // answered here on the event loop: a heartbeat changes nothing durable, so it never waits for the writer
        Vm vm = genesis.hub().view().heartbeat(id, load[0], load[1], genesis.clock().nanos());
        if (vm == null) {
            throw new ApiException(HttpResponseStatus.NOT_FOUND, "no VM " + id
                + ": it expired or never registered; register again (POST /api/vms)");
        }
        genesis.beat(id);
        ObjectNode n = Json.object();
        n.put("id", id);
        n.put("state", vm.status().wire());
        n.put("heartbeat_interval_ms", genesis.options().settings().heartbeatInterval().toMillis());
        json(ctx, keepAlive, HttpResponseStatus.OK, n);
    }

    private void leave(ChannelHandlerContext ctx, FullHttpRequest req, boolean keepAlive, String id)
        throws ApiException {
        // the VM's secret was checked on the headers (Credentials)
        if (req.content().isReadable()) {
            Bodies.parse(ByteBufUtil.getBytes(req.content()), false);
        }
        genesis.writer().submit((reg, now, wall) -> reg.leave(id, now), true)
            .whenCompleteAsync((vm, err) -> {
                if (err != null) {
                    error(ctx, keepAlive, failure(err));
                } else if (vm == null) {
                    error(ctx, keepAlive, new ApiException(HttpResponseStatus.NOT_FOUND, "no VM " + id));
                } else {
                    ObjectNode n = Json.object();
                    n.put("id", id);
                    n.put("state", vm.status().wire());
                    n.put("removed_after_ms", genesis.options().settings().drainPeriod().toMillis());
                    json(ctx, keepAlive, HttpResponseStatus.ACCEPTED, n);
                }
            }, ctx.executor());
    }

    /** True when a read presents the join token: it then sees instance keys (operators' tools). */
    private boolean operator(FullHttpRequest req) {
        String bearer = Credentials.bearer(req);
        return bearer != null && MessageDigest.isEqual(sha256(bearer.getBytes(StandardCharsets.UTF_8)),
            genesis.tokenDigest());
    }

    public static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ApiException failure(Throwable err) {
        Throwable e = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        if (e instanceof Registry.RangeFullException) {
            return new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, e.getMessage());
        }
        if (e instanceof Writer.Busy || e instanceof Writer.StorageFailure) {
            return new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, e.getMessage());
        }
        if (e instanceof ApiException a) {
            return a;
        }
        if (e instanceof Registry.Forbidden) {
            return new ApiException(HttpResponseStatus.FORBIDDEN, e.getMessage());
        }
        LOG.error("internal error: {}", e.toString());
        return new ApiException(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error");
    }

    // ---- reads ----

    private ObjectNode listVms(boolean withInstance) {
        View v = genesis.hub().view();
        long now = genesis.clock().nanos();
        ObjectNode n = Json.object();
        n.put("version", v.version());
        n.put("count", v.vms().size());
        ArrayNode a = n.putArray("vms");
        for (Vm vm : v.vms().values()) {
            a.add(Json.vm(vm, v.liveness().get(vm.id()), now, withInstance));
        }
        return n;
    }

    private ObjectNode health(View v) {
        ObjectNode n = Json.object();
        String failure = genesis.writer().failure();
        n.put("status", failure != null ? "failed" : v.selfPreservation() ? "self-preservation"
            : v.faultHold() ? "expiry-held" : "ok");
        if (failure != null) {
            n.put("failure", failure);
        }
        n.put("self_preservation", v.selfPreservation());
        n.put("expiry_held", v.faultHold());
        n.put("faults", genesis.faults().reports());
        Connections c = genesis.connections();
        ObjectNode conn = n.putObject("connections");
        conn.put("open", c.open());
        conn.put("max", c.limits().maxConnections());
        conn.put("max_per_source", c.limits().maxConnectionsPerSource());
        conn.put("refused", c.refused());
        conn.put("request_timeouts", c.requestTimeouts());
        conn.put("idle_timeouts", c.idleTimeouts());
        conn.put("unauthorized", c.unauthorized());
        conn.put("watchers_cut", c.watchersCut());
        n.put("lapsed", v.lapsed());
        n.put("version", v.version());
        n.put("vms", v.vms().size());
        n.put("active", v.activeCount());
        n.put("ports_held", v.ports().size());
        n.put("ports_capacity", v.plan().maxVms());
        n.put("watchers", genesis.hub().subscribers());
        n.put("heartbeat_interval_ms", genesis.options().settings().heartbeatInterval().toMillis());
        n.put("ttl_ms", genesis.options().settings().ttl().toMillis());
        return n;
    }

    /**
     * Every live VM peers with every other: n nodes and n(n-1)/2 links, so the payload grows with the square of the
     * swarm (about 2 million links at the 1,999-VM cap). Nodes always come whole; links come in pages.
     */
    private ObjectNode mesh(View v, QueryStringDecoder q) throws ApiException {
        long offset = queryLong(q, "offset", 0, Long.MAX_VALUE, 0);
        int limit = (int) queryLong(q, "limit", 0, MESH_PAGE_MAX, MESH_PAGE);
        List<Vm> nodes = v.vms().values().stream().filter(x -> x.status() == Vm.Status.ACTIVE).toList();
        long n = nodes.size();
        long total = n * (n - 1) / 2;
        ObjectNode out = Json.object();
        out.put("version", v.version());
        ArrayNode an = out.putArray("nodes");
        for (Vm vm : nodes) {
            ObjectNode x = an.addObject();
            x.put("id", vm.id());
            x.put("ip", vm.ip());
            x.put("cores", vm.cores());
        }
        out.put("links_total", total);
        out.put("offset", offset);
        out.put("limit", limit);
        ArrayNode links = out.putArray("links");
        // link k enumerates pairs (i, j), i < j, row by row
        long k = 0;
        int emitted = 0;
        outer:
        for (int i = 0; i < n; i++) {
            long row = n - 1 - i;
            if (k + row <= offset) {
                k += row;
                continue;
            }
            for (int j = i + 1; j < n; j++, k++) {
                if (k < offset) {
                    continue;
                }
                if (emitted >= limit) {
                    break outer;
                }
                ArrayNode l = links.addArray();
                l.add(nodes.get(i).id());
                l.add(nodes.get(j).id());
                emitted++;
            }
        }
        long next = offset + emitted;
        if (next < total) {
            out.put("next_offset", next);
        } else {
            out.putNull("next_offset");
        }
        return out;
    }

    private ObjectNode ports(View v) {
        PortPlan plan = v.plan();
        ObjectNode out = Json.object();
        out.put("version", v.version());
        out.put("capacity", plan.maxVms());
        out.put("held", v.ports().size());
        ObjectNode ranges = out.putObject("ranges");
        for (PortKind k : PortKind.values()) {
            ranges.put(k.wire(), (plan.range(k).low() + 1) + "-" + plan.highestAssignable(k) + " (entrance "
                + plan.range(k).low() + ")");
        }
        ArrayNode a = out.putArray("ports");
        for (Reservation h : v.ports()) {
            ObjectNode x = a.addObject();
            x.put("id", h.id());
            x.put("offset", h.ports().offset());
            x.put("pcpu", h.ports().pcpu());
            x.put("pfsshfs", h.ports().pfsshfs());
            x.put("transfer", h.ports().transfer());
            Vm vm = v.vms().get(h.id());
            x.put("state", vm != null ? vm.status().wire() : "grace");
        }
        return out;
    }

    /**
     * The port plan, for the proxy and every other client to learn from Genesis (one source of truth): each kind's
     * range (its first port the balanced entrance), the VM cap, and how long a removed VM's ports stay reserved.
     */
    private ObjectNode plan(View v) {
        PortPlan plan = v.plan();
        ObjectNode out = Json.object();
        ObjectNode kinds = out.putObject("kinds");
        for (PortKind k : PortKind.values()) {
            ObjectNode r = kinds.putObject(k.wire());
            r.put("low", plan.range(k).low());
            r.put("high", plan.range(k).high());
        }
        out.put("max_vms", plan.maxVms());
        out.put("grace_ms", genesis.options().settings().grace().toMillis());
        out.put("version", v.version());
        return out;
    }

    private void watch(ChannelHandlerContext ctx, FullHttpRequest req, QueryStringDecoder q) throws ApiException {
        Long since = null;
        if (q.parameters().containsKey("since")) {
            since = queryLong(q, "since", 0, Long.MAX_VALUE, 0);
        } else {
            String last = req.headers().get("Last-Event-ID");
            if (last != null && last.matches("\\d{1,18}")) {
                since = Long.parseLong(last); // EventSource resumes by itself after a reconnect
            }
        }
        long have = genesis.hub().view().version();
        if (since != null && since > have && genesis.historyId().equals(req.headers().get(HISTORY_HEADER))) {
            // The client's view is of this very history and ahead of this instance (it came from another instance of
            // the shared store, whose commits this one applies a moment later): a snapshot from here would step its
            // view back. Park the request until the hub reaches `since`, bounded; nothing blocks the event loop.
            watching = true;
            parkUntil(ctx, since, have);
            return;
        }
        stream(ctx, since);
    }

    /**
     * Waits (off the event loop: the hub runs a hand-off when a publication reaches {@code since}) for this instance
     * to catch up with {@code since}, at most the catch-up wait (option); then streams from there, or answers 503 when
     * it did not (the client keeps its view and tries again shortly, here or on another instance).
     */
    private void parkUntil(ChannelHandlerContext ctx, long since, long have) {
        java.util.concurrent.atomic.AtomicBoolean decided = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable reached = () -> {
            try {
                ctx.executor().execute(() -> {
                    if (decided.compareAndSet(false, true) && ctx.channel().isActive()) {
                        stream(ctx, since);
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                // Genesis is stopping: the loop and its channels are gone, the client resumes elsewhere
            }
        };
        if (genesis.hub().whenReached(since, reached)) {
            reached.run();
            return;
        }
        ctx.executor().schedule(() -> {
            if (genesis.hub().cancel(reached) && decided.compareAndSet(false, true)) {
                error(ctx, false, new ApiException(HttpResponseStatus.SERVICE_UNAVAILABLE, "this Genesis instance is "
                    + "at version " + genesis.hub().view().version() + " of the history, behind since=" + since
                    + " (it was at " + have + " and is catching up with the other instances); retry shortly, here "
                    + "or on another instance"));
            }
        }, genesis.options().catchUp().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** The watch stream from {@code since} (null: a snapshot first). */
    private void stream(ChannelHandlerContext ctx, Long since) {
        HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
        r.headers().set("X-Accel-Buffering", "no");
        // a client failing over resumes by version only on an instance of the same history (SwarmWatch)
        r.headers().set(HISTORY_HEADER, genesis.historyId());
        HttpUtil.setTransferEncodingChunked(r, true);
        Deadlines deadlines = ctx.pipeline().get(Deadlines.class);
        if (deadlines != null) {
            deadlines.exempt(); // held open on purpose; bounded on the write side instead (Sse)
        }
        watching = true;
        // The stream lives on the watch loop from here on: writing each change to every stream then never holds up
        // the loops that answer heartbeats (with 100 streams it was their p99). Nothing is read from it any more.
        Channel ch = ctx.channel();
        Long from = since;
        ch.config().setAutoRead(false);
        ch.deregister().addListener(d -> {
            if (!d.isSuccess()) {
                ch.close();
                return;
            }
            genesis.watchGroup().next().register(ch).addListener(g -> {
                if (!g.isSuccess()) {
                    ch.close();
                    return;
                }
                ch.write(r);
                ch.writeAndFlush(new io.netty.handler.codec.http.DefaultHttpContent(
                    Unpooled.copiedBuffer("retry: 2000\n\n", StandardCharsets.US_ASCII)));
                Sse s = new Sse(ch, genesis.connections());
                sse = s;
                s.start();
                ch.config().setAutoRead(true); // to see the client close
                ch.closeFuture().addListener(f -> {
                    s.stop();
                    genesis.hub().unsubscribe(s);
                });
                genesis.hub().subscribe(from, s);
            });
        });
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (sse != null && ctx.channel().isWritable()) {
            sse.drain();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // a reset connection or a protocol error: one debug line, never a stack trace to anyone
        LOG.debug("connection {} closed: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    private static long queryLong(QueryStringDecoder q, String name, long min, long max, long absent)
        throws ApiException {
        List<String> vals = q.parameters().get(name);
        if (vals == null || vals.isEmpty()) {
            return absent;
        }
        String s = vals.get(0);
        if (!s.matches("\\d{1,18}")) {
            throw ApiException.badRequest("query parameter '" + name + "' must be a non-negative integer, not '"
                + safePath(s) + "'");
        }
        long x = Long.parseLong(s);
        if (x < min || x > max) {
            throw ApiException.badRequest("query parameter '" + name + "' is out of range: " + x + " (allowed " + min
                + " to " + max + ")");
        }
        return x;
    }

    private static void notAllowed(String allow) throws ApiException {
        throw new ApiException(HttpResponseStatus.METHOD_NOT_ALLOWED, "method not allowed here; allowed: " + allow,
            allow);
    }

    private static String sourceIp(ChannelHandlerContext ctx) {
        return ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress().getHostAddress();
    }

    private static String safePath(String s) {
        String t = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }

    static void json(ChannelHandlerContext ctx, boolean keepAlive, HttpResponseStatus status, ObjectNode body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
            Unpooled.wrappedBuffer(Json.bytes(body)));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        send(ctx, keepAlive, r);
    }

    static void error(ChannelHandlerContext ctx, boolean keepAlive, ApiException e) {
        FullHttpResponse r = errorResponse(e.status(), e.getMessage());
        if (e.status() == HttpResponseStatus.UNAUTHORIZED) {
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"genesis\"");
        }
        if (e.allow() != null) {
            r.headers().set(HttpHeaderNames.ALLOW, e.allow());
        }
        send(ctx, keepAlive, r);
    }

    static FullHttpResponse errorResponse(HttpResponseStatus status, String message) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
            Unpooled.wrappedBuffer(Json.error(message)));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
        return r;
    }

    static void send(ChannelHandlerContext ctx, boolean keepAlive, FullHttpResponse r) {
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
        if (keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(r, ctx.voidPromise());
        } else {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
