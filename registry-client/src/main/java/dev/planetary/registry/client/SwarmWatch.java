package dev.planetary.registry.client;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows Genesis' watch stream ({@code GET /api/watch}) and keeps an immutable, versioned {@link SwarmView} of the
 * swarm. All state is owned by one event loop thread; views are published whole (one volatile write) and handed to
 * the listener on a notifier thread of their own, so a slow listener never stalls the stream.
 *
 * <p>After a disconnect it resumes with {@code since=VERSION}, so Genesis sends only what was missed (no relist while
 * Genesis still holds that history). A malformed event, a version gap or a version that goes backwards is logged
 * once and answered by a relist (a reconnect without {@code since}); the view is kept meanwhile and nothing is half
 * applied. When Genesis cannot be reached the last view stays in force (static stability): {@link #stale()} turns
 * true and the listener hears it once. Several URLs are a fail-over list ({@link Failover}): a URL that is down or
 * answers 5xx is left for the next at once, resuming there with the version ({@code since} and {@code Last-Event-ID});
 * an instance that no longer holds that history (or never did) answers a snapshot, which replaces the view whole, so
 * no view is emptied meanwhile. A resume names the view's history ({@code Genesis-History}): an instance of that
 * history that is behind the view (a shared store's instance still applying the others' commits) waits to catch up
 * or answers 503, and a snapshot older than the view from it is never applied (the view stays; the watch resumes
 * again shortly, and only after {@link #BEHIND_LIMIT} such tries in a row takes what it is given). Once every URL has failed in a row, reconnects follow a capped exponential backoff
 * with jitter.
 */
public final class SwarmWatch implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SwarmWatch.class);
    /** How often the read-timeout check runs, as a share of the timeout: detection within 1.25 timeouts. */
    private static final int READ_CHECKS_PER_TIMEOUT = 4;
    /**
     * The response header naming the history a Genesis' versions belong to: the same on every instance of one store,
     * different for an independent Genesis. Versions alone cannot tell two independent instances apart when both
     * reached the same version, so a resume is trusted only when the ids agree (or either side sends none).
     */
    static final String HISTORY_HEADER = "Genesis-History";
    /** Longest history id taken; anything else is ignored as if absent. */
    private static final java.util.regex.Pattern HISTORY = java.util.regex.Pattern.compile("[\\x21-\\x7e]{1,64}");
    /**
     * Resumes in a row that found a Genesis of the view's history behind the view (a 503 "catching up", or an older
     * snapshot) before the watch takes what it is given: an instance of a shared store catches up in milliseconds,
     * so this many attempts (with the fail-over's backoff between rounds) mean the history itself went back (a store
     * restored from a backup), and a view that never moves again would be worse than one stepped back.
     */
    static final int BEHIND_LIMIT = 8;
    /** What Genesis' 503 to a resume ahead of it says ({@code ApiHandler}): "..., behind since=V (...)". */
    static final String BEHIND_BODY = "behind since=";
    /** The least wait before resuming after a Genesis behind the view: its writer applies a commit within this. */
    private static final long BEHIND_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    /** How long {@link #close} waits for the threads to finish. */
    private static final long CLOSE_WAIT_MILLIS = 5_000;

    private final List<Endpoint> urls;
    private final SwarmListener listener;
    private final WatchOptions options;
    private final EventLoopGroup group;
    private final EventLoop loop;
    private final ExecutorService notifier;
    private final AtomicReference<SwarmView> pendingView = new AtomicReference<>();
    private volatile Thread notifierThread;

    // ---- owned by the event loop ----
    private final WatchState state = new WatchState();
    private final Failover failover;
    private boolean relistNext;
    /** The history id of the view's versions (null: its Genesis sends none). */
    private String history;
    private boolean relistLogged;
    /** Resumes in a row that found the view's own history behind the view (see {@link #BEHIND_LIMIT}). */
    private int behind;
    private boolean closed;
    private Conn conn;
    private ScheduledFuture<?> retry;
    private String staleReason;
    /** A snapshot was applied at least once (later ones are relists). */
    private boolean everListed;

    // ---- published (single writer: the event loop) ----
    private volatile SwarmView view = SwarmView.EMPTY;
    private volatile URI current;
    private volatile boolean stale;
    private volatile long reconnects;
    private volatile long relists;
    private volatile long malformedEvents;
    private volatile boolean closing;

    private SwarmWatch(List<Endpoint> urls, SwarmListener listener, WatchOptions options) {
        this.urls = urls;
        this.listener = listener;
        this.options = options;
        this.failover = new Failover(urls, options.backoff());
        this.current = urls.get(0).uri();
        this.group = Transport.group("swarm-watch");
        this.loop = group.next();
        this.notifier = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "swarm-watch-notify");
            t.setDaemon(true);
            notifierThread = t;
            return t;
        });
    }

    /** Starts following Genesis in the background; returns at once. {@code genesisUrls}: fail-over list, in order. */
    public static SwarmWatch start(List<URI> genesisUrls, SwarmListener listener, WatchOptions options) {
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(options, "options");
        if (genesisUrls == null || genesisUrls.isEmpty()) {
            throw new IllegalArgumentException("at least one Genesis URL is needed");
        }
        List<Endpoint> eps = new ArrayList<>();
        for (URI u : genesisUrls) {
            eps.add(Endpoint.of(u));
        }
        SwarmWatch w = new SwarmWatch(List.copyOf(eps), listener, options);
        w.loop.execute(w::connect);
        long every = Math.max(1, options.readTimeout().toMillis() / READ_CHECKS_PER_TIMEOUT);
        w.loop.scheduleAtFixedRate(w::checkReadTimeout, every, every, TimeUnit.MILLISECONDS);
        return w;
    }

    /** The newest view (published whole: it may be ahead of what the listener has been handed so far). */
    public SwarmView view() {
        return view;
    }

    /** True while Genesis cannot be reached and the last view is being served as it was. */
    public boolean stale() {
        return stale;
    }

    public long version() {
        return view.version();
    }

    /**
     * The Genesis URL of the fail-over list that the watch follows, or is trying to reach while {@link #stale()}:
     * the first one until it fails, then the next that answered.
     */
    public URI currentUrl() {
        return current;
    }

    /** Connections opened after the first one. */
    public long reconnects() {
        return reconnects;
    }

    /** Full lists received after the first one (snapshots): a resume that needed no relist does not count. */
    public long relists() {
        return relists;
    }

    /** Events dropped as malformed (each followed by a relist). */
    public long malformedEvents() {
        return malformedEvents;
    }

    /** Genesis' port plan from the newest view, when it serves one. */
    public java.util.Optional<PortPlanInfo> portPlan() {
        return view.portPlan();
    }

    /** Stops following: closes the stream and the threads. The listener gets no call after this returns. */
    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        loop.execute(() -> {
            closed = true;
            if (retry != null) {
                retry.cancel(false);
            }
            if (conn != null) {
                conn.drop();
            }
        });
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (!loop.inEventLoop()) {
            group.terminationFuture().awaitUninterruptibly(CLOSE_WAIT_MILLIS);
        }
        notifier.shutdown();
        if (Thread.currentThread() != notifierThread) { // a listener may close its own watch
            try {
                notifier.awaitTermination(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---- connecting (event loop) ----

    private void connect() {
        if (closed) {
            return;
        }
        retry = null;
        Endpoint to = failover.current();
        current = to.uri();
        Conn c = new Conn(to);
        conn = c;
        // the port plan first (its own short request): a Genesis without one answers 404 and the watch goes on
        HttpCall.send(loop, to, "GET", "/api/ports/plan", null, options.bearerToken(), null,
                options.connectTimeout(), options.readTimeout())
            .whenComplete((reply, err) -> {
                if (c != conn || closed) {
                    return;
                }
                if (err != null) {
                    failed(c, Objects.toString(err.getMessage(), err.toString()), true);
                    return;
                }
                if (reply.status() == 200) {
                    try {
                        state.plan(WatchState.parsePlan(reply.body()));
                    } catch (IllegalArgumentException e) {
                        LOG.warn("Genesis {}: ignoring its port plan: {}", to, e.getMessage());
                    }
                } else if (reply.status() == 404) {
                    state.plan(null);
                } else {
                    LOG.debug("Genesis {}: GET /api/ports/plan answered {}", to, reply.status());
                }
                publish();
                openStream(c);
            });
    }

    private void openStream(Conn c) {
        boolean resume = !relistNext && state.snapshotSeen();
        String path = c.to.prefix() + "/api/watch" + (resume ? "?since=" + state.version() : "");
        c.resumedFrom = resume ? state.version() : -1;
        Bootstrap b = new Bootstrap().group(loop).channel(Transport.channel())
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE,
                options.connectTimeout().toMillis()))
            .option(ChannelOption.TCP_NODELAY, true)
            .handler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    ch.pipeline().addLast(new HttpClientCodec());
                    ch.pipeline().addLast(c);
                }
            });
        b.connect(c.to.host(), c.to.port()).addListener((ChannelFuture f) -> {
            if (c != conn || closed) {
                f.channel().close();
                return;
            }
            if (!f.isSuccess()) {
                failed(c, "cannot connect: " + HttpCall.brief(f.cause()), true);
                return;
            }
            c.channel = f.channel();
            c.lastReadNanos = options.clock().nanos();
            FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
            req.headers().set(HttpHeaderNames.HOST, c.to.hostHeader());
            req.headers().set(HttpHeaderNames.ACCEPT, "text/event-stream");
            req.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
            if (resume) {
                req.headers().set("Last-Event-ID", Long.toString(state.version()));
                if (history != null && behind < BEHIND_LIMIT) {
                    // an instance of this history that is behind the view waits to catch up instead of listing
                    req.headers().set(HISTORY_HEADER, history);
                }
            }
            if (options.bearerToken() != null) {
                req.headers().set(HttpHeaderNames.AUTHORIZATION, "Bearer " + options.bearerToken());
            }
            f.channel().writeAndFlush(req);
        });
    }

    /**
     * The connection {@code c} failed. {@code unreachable}: Genesis could not be reached or did not answer well
     * (refused, timed out, 5xx: the view turns stale, the next URL is tried at once, with the version). Otherwise the
     * stream ended after working: one that carried data is resumed at once from the same URL (a Genesis restart, a
     * cut-off slow reader); one that ended before anything valid came counts as a failure of that URL, so a server
     * that answers and hangs up never makes a hot loop.
     */
    private void failed(Conn c, String reason, boolean unreachable) {
        if (c != conn || closed) {
            return;
        }
        c.drop();
        conn = null;
        long delay;
        if (unreachable || !c.live) {
            markStale(c.to + ": " + reason);
            delay = failover.failed(() -> options.random().nextDouble());
            if (failover.size() > 1 && failover.failures() <= failover.size()) {
                LOG.info("Genesis {}: {}; failing over to {} with version {}", c.to, reason, failover.current(),
                    state.version());
            }
        } else if (c.worked) {
            failover.succeeded();
            LOG.info("Genesis {}: watch stream ended ({}); resuming from version {}", c.to, reason,
                state.version());
            delay = 0;
        } else {
            LOG.debug("Genesis {}: watch stream ended before any event ({})", c.to, reason);
            delay = failover.failed(() -> options.random().nextDouble());
        }
        scheduleConnect(delay);
    }

    private void scheduleConnect(long delayNanos) {
        reconnects = reconnects + 1;
        if (delayNanos <= 0) {
            loop.execute(this::connect);
        } else {
            retry = loop.schedule(this::connect, delayNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** Drop the stream and list again from the same URL (after a backoff when it keeps happening). */
    private void relist(Conn c, WatchState.Relist why) {
        if (why.malformed) {
            malformedEvents = malformedEvents + 1;
        }
        publish(); // the complete events before the bad one stand
        if (!relistLogged) {
            relistLogged = true;
            LOG.warn("Genesis {}: {}; keeping the view at version {} and listing again", c.to, why.getMessage(),
                view.version());
        } else {
            LOG.debug("Genesis {}: {} (again)", c.to, why.getMessage());
        }
        relistNext = true;
        c.drop();
        conn = null;
        scheduleConnect(failover.retrySame(() -> options.random().nextDouble()));
    }

    /**
     * {@code c} would resume the view's version on a Genesis of another history (an independent instance that
     * reached the same version): its changes would not follow the view's. List there instead, at once: it is no
     * failure of that Genesis.
     */
    private void otherHistory(Conn c) {
        LOG.warn("Genesis {}: another history ({} {}, the view's is {}): listing the swarm there instead of resuming "
            + "version {}", c.to, HISTORY_HEADER, c.historyId, history, state.version());
        relistNext = true;
        c.drop();
        conn = null;
        scheduleConnect(0);
    }

    /**
     * {@code c}, a Genesis of the view's own history, sent a snapshot older than the view: it is behind (an instance
     * of a shared store still applying the others' commits). Keep the view, and resume shortly on the next URL.
     */
    private void behindHistory(Conn c, WatchState.Behind why) {
        behind++;
        LOG.info("Genesis {}: {}; keeping the view and resuming again shortly ({} of {} tries)", c.to,
            why.getMessage(), behind, BEHIND_LIMIT);
        c.drop();
        conn = null;
        scheduleConnect(Math.max(failover.failed(() -> options.random().nextDouble()), BEHIND_RETRY_NANOS));
    }

    private void checkReadTimeout() {
        Conn c = conn;
        if (c == null || closed || c.channel == null) {
            return;
        }
        long silent = options.clock().nanos() - c.lastReadNanos;
        if (silent > options.readTimeout().toNanos()) {
            failed(c, "nothing received for " + Duration.ofNanos(silent).toMillis() + " ms (Genesis sends a "
                + "keep-alive every 5 s)", true);
        }
    }

    // ---- publishing (event loop) ----

    private void publish() {
        SwarmView v = state.publish();
        if (v == null) {
            return;
        }
        view = v;
        if (pendingView.getAndSet(v) == null) {
            notify(this::deliverView);
        }
    }

    private void deliverView() {
        SwarmView v = pendingView.getAndSet(null);
        if (v != null && !closing) {
            try {
                listener.onView(v);
            } catch (RuntimeException e) {
                LOG.error("swarm listener failed on view {}: {}", v.version(), e.toString());
                LOG.debug("swarm listener failure", e);
            }
        }
    }

    private void markStale(String reason) {
        if (stale) {
            return;
        }
        stale = true;
        staleReason = reason;
        SwarmView v = view;
        LOG.warn("Genesis unreachable ({}); serving the last view (version {}, {} VMs) until it is back", reason,
            v.version(), v.vms().size());
        notify(() -> listener.onStale(true, reason));
    }

    private void markFresh(Endpoint to) {
        if (!stale) {
            return;
        }
        stale = false;
        String reason = "watching " + to + " again at version " + state.version();
        LOG.info("Genesis reachable again: {} (was: {})", reason, staleReason);
        notify(() -> listener.onStale(false, reason));
    }

    private void notify(Runnable r) {
        if (closing) {
            return;
        }
        try {
            notifier.execute(() -> {
                if (closing) {
                    return;
                }
                try {
                    r.run();
                } catch (RuntimeException e) {
                    LOG.error("swarm listener failed: {}", e.toString());
                    LOG.debug("swarm listener failure", e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    /** One watch connection: its handler and what it has done so far. */
    private final class Conn extends SimpleChannelInboundHandler<HttpObject> implements SseDecoder.Sink {
        final Endpoint to;
        final SseDecoder decoder = new SseDecoder(options.maxEventBytes());
        Channel channel;
        long lastReadNanos;
        long resumedFrom = -1;
        /** The history id this Genesis answered with (null: none). */
        String historyId;
        /** 200 received: the stream works. */
        boolean live;
        /** A valid event or keep-alive came: a reconnect after this stream resumes at once. */
        boolean worked;
        boolean dropped;
        /**
         * A 503 to a resume in the view's history, its body not read yet: only one that says the instance is behind
         * ({@link #BEHIND_BODY}) counts toward {@link #BEHIND_LIMIT}, not a connection cap's or an etcd outage's.
         */
        HttpResponseStatus refusal;

        Conn(Endpoint to) {
            this.to = to;
        }

        void drop() {
            dropped = true;
            if (channel != null) {
                channel.close();
            }
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (dropped || this != conn) {
                return;
            }
            lastReadNanos = options.clock().nanos();
            if (msg.decoderResult().isFailure()) {
                failed(this, "malformed HTTP: " + msg.decoderResult().cause(), true);
                return;
            }
            if (msg instanceof HttpResponse r) {
                String type = r.headers().get(HttpHeaderNames.CONTENT_TYPE, "");
                if (r.status().code() != 200) {
                    if (r.status().code() == 503 && resumedFrom >= 0 && history != null) {
                        refusal = r.status(); // maybe catching up with our version: its body says
                        return;
                    }
                    failed(this, "GET /api/watch answered " + r.status(), true);
                    return;
                }
                if (!type.startsWith("text/event-stream")) {
                    failed(this, "GET /api/watch answered '" + SseDecoder.printable(type) + "', not an event "
                        + "stream", true);
                    return;
                }
                String h = r.headers().get(HISTORY_HEADER);
                historyId = h != null && HISTORY.matcher(h).matches() ? h : null;
                if (resumedFrom >= 0 && history != null && historyId != null && !history.equals(historyId)) {
                    otherHistory(this);
                    return;
                }
                // within the view's history a snapshot older than the view is a Genesis behind it, never news
                boolean sameHistory = resumedFrom >= 0 && history != null && history.equals(historyId);
                state.snapshotFloor(sameHistory && behind < BEHIND_LIMIT ? state.version() : -1);
                live = true;
                markFresh(to);
                if (failover.failures() > failover.size()) {
                    LOG.debug("Genesis {}: watching again (attempt {})", to, failover.failures());
                } else if (resumedFrom >= 0) {
                    LOG.info("Genesis {}: watching, resumed from version {}", to, resumedFrom);
                } else {
                    LOG.info("Genesis {}: watching (listing the swarm)", to);
                }
            }
            if (refusal != null && msg instanceof HttpContent content) {
                // Genesis answers its 503s whole and small: the first piece of the body says whether it is behind
                if (content.content().isReadable() || msg instanceof LastHttpContent) {
                    String body = content.content().toString(java.nio.charset.StandardCharsets.UTF_8);
                    if (body.contains(BEHIND_BODY)) {
                        behind++; // the next URL, shortly
                    }
                    failed(this, "GET /api/watch answered " + refusal, true);
                }
                return;
            }
            if (msg instanceof HttpContent content && !dropped) {
                decoder.feed(content.content(), this);
                if (msg instanceof LastHttpContent && !dropped) {
                    publish();
                    failed(this, "Genesis ended the stream", false);
                }
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (this == conn && !dropped) {
                publish(); // one view per read batch, never one per VM
            }
            ctx.fireChannelReadComplete();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (this == conn && !dropped) {
                publish();
                failed(this, "connection closed", !live);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (this == conn && !dropped) {
                failed(this, HttpCall.brief(cause), !live);
            } else {
                ctx.close();
            }
        }

        // ---- SseDecoder.Sink ----

        @Override
        public boolean event(SseDecoder.Event e) {
            try {
                WatchState.Applied a = state.apply(e);
                if (a == WatchState.Applied.SNAPSHOT || history == null) {
                    history = historyId; // the view's versions are this Genesis' from here on
                }
                if (a == WatchState.Applied.SNAPSHOT) {
                    if (everListed) {
                        relists = relists + 1;
                    }
                    everListed = true;
                    relistNext = false;
                    relistLogged = false;
                }
                worked = true;
                behind = 0;
                failover.succeeded();
                return true;
            } catch (WatchState.Behind b) {
                behindHistory(this, b);
                return false;
            } catch (WatchState.Relist r) {
                relist(this, r);
                return false;
            }
        }

        @Override
        public boolean comment(String text) {
            worked = true; // a keep-alive: Genesis is there and well
            behind = 0; // and at the view's version: a stream that was behind ends before its first keep-alive
            failover.succeeded();
            return true;
        }

        @Override
        public boolean malformed(String reason) {
            relist(this, new WatchState.Relist(reason, true));
            return false;
        }
    }
}
