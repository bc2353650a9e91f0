package dev.planetary.proxy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.SendProxy;
import dev.planetary.core.config.ServerConfig;
import dev.planetary.core.health.CheckSchedule;
import dev.planetary.core.health.HealthState;
import dev.planetary.proxy.stats.ServerStats;
import io.netty.channel.ConnectTimeoutException;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Active TCP connect checks ({@code check inter rise fall}) on one thread of its own. Failed connects of live traffic
 * are fed in too ({@link #liveFailure}) and count toward {@code fall}. A transition is a message to the backend's
 * owner (the {@link ControlAgent}), so this loop never builds a table or waits for one; it is logged once,
 * HAProxy-style, when its snapshot is out. The schedule is {@link CheckSchedule}, driven by this checker's clock.
 * {@link #watch} and {@link #unwatch} are called by the control agent as membership changes.
 */
final class HealthChecker implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(HealthChecker.class);

    private final EventLoopGroup group;
    private final EventLoop loop;
    private final Bootstrap bootstrap;
    private final Map<Server, Check> checks = new ConcurrentHashMap<>();
    private final LongSupplier clock;
    private final SplittableRandom jitter;

    HealthChecker(Transport transport) {
        this(transport, System::nanoTime, new SplittableRandom());
    }

    /**
     * @param clock  monotonic nanoseconds, for schedules and check durations
     * @param jitter seeds each server's first-check jitter (used only by watch, which the control agent calls)
     */
    HealthChecker(Transport transport, LongSupplier clock, SplittableRandom jitter) {
        this.clock = clock;
        this.jitter = jitter;
        this.group = transport.newGroup(1, "planetary-health");
        this.loop = group.next();
        this.bootstrap = new Bootstrap().group(loop).channel(transport.channel())
            .option(ChannelOption.TCP_NODELAY, true)
            .handler(new ChannelInboundHandlerAdapter() {
                @Override
                public boolean isSharable() {
                    return true;
                }
            });
    }

    /** Starts checking a server; called on the control agent. */
    void watch(ProxyBackend backend, Server server, ServerConfig sc) {
        CheckSchedule schedule = new CheckSchedule(TimeUnit.MILLISECONDS.toNanos(Math.max(1, sc.interMs())),
            jitter.nextLong());
        Check check = new Check(backend, server, sc, schedule.interNanos());
        if (checks.putIfAbsent(server, check) == null) {
            long now = clock.getAsLong();
            check.scheduleAt(schedule.firstDue(now), now);
        }
    }

    void unwatch(Server server) {
        Check check = checks.remove(server);
        if (check != null) {
            check.cancel();
        }
    }

    /** A live connection to this server failed to connect: counts like a failed check. Any thread. */
    void liveFailure(Server server) {
        Check check = checks.get(server);
        if (check != null) {
            loop.execute(() -> check.result(false, "live connection failed", 0, false, false));
        }
    }

    /** Number of servers being checked. */
    int watched() {
        return checks.size();
    }

    @Override
    public void close() {
        checks.values().forEach(Check::cancel);
        checks.clear();
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    }

    /**
     * One server's checks: its task, and its rise/fall state (it is its {@link HealthState}: one object per checked
     * server, and of its {@link CheckSchedule} only the interval is kept once the first check is set, issue 8).
     */
    private final class Check extends HealthState implements Runnable {
        private final ProxyBackend backend;
        private final Server server;
        private final long interNanos;
        private final int timeoutMs;
        private final ServerStats stats;
        /** The PROXY header each check sends before closing (send-proxy[-v2], check-send-proxy), or NONE. */
        private final SendProxy sendProxy;
        private volatile ScheduledFuture<?> next;
        private volatile boolean cancelled;

        Check(ProxyBackend backend, Server server, ServerConfig sc, long interNanos) {
            super(sc.rise(), sc.fall(), server.up());
            this.backend = backend;
            this.server = server;
            this.interNanos = interNanos;
            this.sendProxy = sc.checkProxy();
            long interMs = sc.interMs();
            long connect = backend.config().connectTimeoutMs();
            // HAProxy bounds a check by 'timeout check' or else 'inter'; connect time is all a TCP check has.
            this.timeoutMs = (int) Math.max(1, connect > 0 ? Math.min(connect, interMs) : interMs);
            this.stats = backend.stats().joining(server.name()); // made by the owner: watch runs on it
        }

        void scheduleAt(long dueNanos, long nowNanos) {
            if (!cancelled) {
                next = loop.schedule(this, CheckSchedule.delayNanos(dueNanos, nowNanos), TimeUnit.NANOSECONDS);
            }
        }

        void cancel() {
            cancelled = true;
            ScheduledFuture<?> n = next;
            if (n != null) {
                n.cancel(false);
            }
        }

        @Override
        public void run() {
            if (cancelled) {
                return;
            }
            long start = clock.getAsLong();
            bootstrap.clone().option(ChannelOption.CONNECT_TIMEOUT_MILLIS, timeoutMs)
                .connect(server.address())
                .addListener((ChannelFutureListener) f -> {
                    long end = clock.getAsLong();
                    long tookMs = TimeUnit.NANOSECONDS.toMillis(end - start);
                    if (f.isSuccess()) {
                        SendProxyHeader.checkThenClose(f.channel(), sendProxy);
                        result(true, null, tookMs, true, false);
                    } else {
                        Throwable c = f.cause();
                        String info = c == null ? "failed" : String.valueOf(c.getMessage());
                        int colon = info.lastIndexOf(": ");
                        result(false, colon >= 0 ? info.substring(colon + 2) : info, tookMs, true,
                            c instanceof ConnectTimeoutException);
                    }
                    scheduleAt(CheckSchedule.nextDue(end, interNanos), end);
                });
        }

        /** @param check a check's result (shown in the stats), not a live connection's failure */
        void result(boolean ok, String info, long tookMs, boolean check, boolean timeout) {
            if (cancelled) {
                return;
            }
            if (check) {
                stats.check(ok, timeout, up(), ok ? "" : info, tookMs);
            }
            // The transition goes to the backend's owner; it is logged (with the census it made) once applied.
            switch (record(ok)) {
                case WENT_UP -> backend.setHealth(server, true).thenRun(() ->
                    LOG.warn("Server {}/{} is UP, reason: Layer4 check passed, check duration: {}ms. {}",
                        backend.name(), server.name(), tookMs, census()));
                case WENT_DOWN -> backend.setHealth(server, false).thenRun(() -> {
                    LOG.warn("Server {}/{} is DOWN, reason: Layer4 connection problem, info: \"{}\", check duration:"
                        + " {}ms. {}", backend.name(), server.name(), info, tookMs, census());
                    if (!backend.anyUsable()) {
                        LOG.error("backend '{}' has no server available!", backend.name());
                    }
                });
                default -> { }
            }
        }

        private String census() {
            int active = 0;
            int backup = 0;
            for (Server s : backend.servers()) {
                if (s.usable()) {
                    if (s.backup()) {
                        backup++;
                    } else {
                        active++;
                    }
                }
            }
            return active + " active and " + backup + " backup servers online.";
        }
    }
}
