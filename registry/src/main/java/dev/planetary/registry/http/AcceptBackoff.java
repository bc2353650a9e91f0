package dev.planetary.registry.http;

import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Faults;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On a listening channel: when accepting fails (out of descriptors: EMFILE, ENFILE), stop accepting for
 * {@link #BACKOFF_MILLIS}, then try again, for as long as it fails. One warning when such an episode starts and one
 * line when it ends, with how many accepts failed: never a line per failure (Netty's own handling logs each one at
 * the end of the pipeline, once a second). Each failure is reported to {@link Faults}: a VM whose heartbeat could not
 * be accepted must not expire for it.
 */
final class AcceptBackoff extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(AcceptBackoff.class);

    /**
     * 100 ms without accepting after a failure: long enough that a listener out of descriptors does not spin a core
     * on failing accepts, short enough that accepting resumes well within one heartbeat interval once a descriptor
     * is free (the kernel keeps the waiting connections in the backlog meanwhile).
     */
    static final long BACKOFF_MILLIS = 100;

    private final Faults faults;
    private final Clock clock;
    private final LongAdder failures = new LongAdder();
    private final LongAdder episodes = new LongAdder();
    private boolean failing;
    private long episodeFailures;
    private long episodeStart;

    AcceptBackoff(Faults faults, Clock clock) {
        this.faults = faults;
        this.clock = clock;
    }

    long failures() { return failures.sum(); }
    long episodes() { return episodes.sum(); }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object child) {
        if (failing) {
            failing = false;
            LOG.info("accepting connections again on {} after {} failed accepts in {} ms", ctx.channel().localAddress(),
                episodeFailures, TimeUnit.NANOSECONDS.toMillis(clock.nanos() - episodeStart));
        }
        ctx.fireChannelRead(child);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // not passed on: Netty's acceptor would pause for a second and log the failure at the pipeline's end
        long now = clock.nanos();
        failures.increment();
        faults.report("cannot accept connections: " + cause.getMessage(), now);
        if (!failing) {
            failing = true;
            episodeFailures = 0;
            episodeStart = now;
            episodes.increment();
            LOG.warn("cannot accept connections on {}: {}; retrying every {} ms (logged again when it works)",
                ctx.channel().localAddress(), cause.getMessage(), BACKOFF_MILLIS);
        }
        episodeFailures++;
        if (ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(false);
            ctx.executor().schedule(() -> {
                ctx.channel().config().setAutoRead(true);
                // still failing: report on, the hold must cover the whole episode
                if (failing) {
                    faults.report("cannot accept connections: " + cause.getMessage(), clock.nanos());
                }
            }, BACKOFF_MILLIS, TimeUnit.MILLISECONDS);
        }
    }
}
