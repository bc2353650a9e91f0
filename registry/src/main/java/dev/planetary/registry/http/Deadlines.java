package dev.planetary.registry.http;

import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A connection's two timeouts, in front of the HTTP decoder (it sees raw bytes, so a request drip-fed one byte at a
 * time is timed from its first byte, not reset by every byte as a read-idle timer would be):
 * <ul>
 * <li>a request must be complete ({@link #requestComplete()}, called when the aggregated request reaches the API)
 * within the request timeout of its first byte, and the first request within it of the connect;</li>
 * <li>between requests the connection may stay idle for the idle timeout.</li>
 * </ul>
 * Either way the connection is closed and counted. A watch stream takes itself out ({@link #exempt}).
 */
final class Deadlines extends ChannelInboundHandlerAdapter {

    static final String NAME = "deadlines";

    private final HttpLimits limits;
    private final Connections counts;
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> timer;
    private boolean inRequest;

    Deadlines(HttpLimits limits, Connections counts) {
        this.limits = limits;
        this.counts = counts;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        startRequest(); // the first request is due within the request timeout of the connect
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!inRequest) {
            startRequest();
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancel();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancel();
    }

    /** On the event loop: a whole request arrived; the connection is idle until the next one's first byte. */
    void requestComplete() {
        cancel();
        inRequest = false;
        long idle = limits.idleTimeout().toNanos();
        timer = ctx.executor().schedule(() -> {
            counts.idleTimedOut();
            ctx.close();
        }, idle, TimeUnit.NANOSECONDS);
    }

    /** A watch stream: no timeouts from here on (it has its own write-side bounds). */
    void exempt() {
        cancel();
        ctx.pipeline().remove(this);
    }

    private void startRequest() {
        cancel();
        inRequest = true;
        timer = ctx.executor().schedule(() -> {
            counts.requestTimedOut();
            ctx.close();
        }, limits.requestTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
