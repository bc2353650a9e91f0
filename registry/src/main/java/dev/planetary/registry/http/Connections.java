package dev.planetary.registry.http;

import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Faults;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The open connections of one Genesis, all listeners together and per source address, against {@link HttpLimits}'
 * caps; and the counts of what the HTTP server refused or cut. A connection over a cap is answered 503 and closed at
 * once, before anything of it is read. Counted per connection on the event loops (an add on a striped counter), read
 * by {@code /api/health}.
 */
public final class Connections {

    private static final byte[] FULL = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        + "Connection: close\r\nRetry-After: 1\r\nContent-Length: 58\r\n\r\n"
        + "{\"error\":\"too many connections: retry in a moment please\"}").getBytes(StandardCharsets.US_ASCII);

    private final HttpLimits limits;
    private final Faults faults;
    private final Clock clock;
    private final AtomicInteger open = new AtomicInteger();
    /** Open connections per source address; an address with none has no entry. Changed only inside compute. */
    private final ConcurrentHashMap<InetAddress, Integer> perSource = new ConcurrentHashMap<>();
    private final LongAdder refused = new LongAdder();
    private final LongAdder requestTimeouts = new LongAdder();
    private final LongAdder idleTimeouts = new LongAdder();
    private final LongAdder watchersCut = new LongAdder();
    private final LongAdder unauthorized = new LongAdder();

    /** Refusals at the total cap are reported to {@code faults}: VMs may be among those refused. */
    public Connections(HttpLimits limits, Faults faults, Clock clock) {
        this.limits = limits;
        this.faults = faults;
        this.clock = clock;
        if (FULL.length - new String(FULL, StandardCharsets.US_ASCII).indexOf("\r\n\r\n") - 4 != 58) {
            throw new AssertionError("Content-Length of the 503 answer");
        }
    }

    public HttpLimits limits() { return limits; }
    public int open() { return open.get(); }
    public long refused() { return refused.sum(); }
    public long requestTimeouts() { return requestTimeouts.sum(); }
    public long idleTimeouts() { return idleTimeouts.sum(); }
    public long watchersCut() { return watchersCut.sum(); }
    public long unauthorized() { return unauthorized.sum(); }

    void requestTimedOut() { requestTimeouts.increment(); }
    void idleTimedOut() { idleTimeouts.increment(); }
    void watcherCut() { watchersCut.increment(); }
    void rejected() { unauthorized.increment(); }

    /** Opens a connection from {@code source}; false (nothing counted) when a cap is reached. */
    boolean tryOpen(InetAddress source) {
        if (open.incrementAndGet() > limits.maxConnections()) {
            open.decrementAndGet();
            refused.increment();
            // anyone may be refused now, VMs' heartbeats too: not their fault (a per-source refusal is that source's)
            faults.report("the connection cap (" + limits.maxConnections() + ") was reached", clock.nanos());
            return false;
        }
        // the check and the count in one atomic step per address: a counter fetched, then removed by a close and
        // counted on outside the map, would let an address past its cap
        boolean[] admitted = {false};
        perSource.compute(source, (a, n) -> {
            int now = n == null ? 0 : n;
            admitted[0] = now < limits.maxConnectionsPerSource();
            return admitted[0] ? now + 1 : n;
        });
        if (!admitted[0]) {
            open.decrementAndGet();
            refused.increment();
            return false;
        }
        return true;
    }

    void close(InetAddress source) {
        open.decrementAndGet();
        perSource.computeIfPresent(source, (a, n) -> n <= 1 ? null : n - 1);
    }

    /** Addresses with open connections (for tests: none are left behind). */
    int sources() {
        return perSource.size();
    }

    /** First in every connection's pipeline: counts it in, or answers 503 and closes it. */
    final class Gate extends ChannelInboundHandlerAdapter {
        private InetAddress counted;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            InetAddress source = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
            if (!tryOpen(source)) {
                ctx.channel().config().setAutoRead(false);
                ctx.writeAndFlush(Unpooled.wrappedBuffer(FULL)).addListener(ChannelFutureListener.CLOSE);
                return; // the rest of the pipeline never sees it
            }
            counted = source;
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (counted != null) {
                close(counted);
                counted = null;
            }
            ctx.fireChannelInactive();
        }
    }

    Gate gate() {
        return new Gate();
    }
}
