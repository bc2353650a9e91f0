package dev.planetary.registry.http;

import dev.planetary.registry.Hub;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * One watch subscriber on one channel. The hub offers events from the writer thread into a bounded queue; the
 * channel's event loop writes them while the channel is writable and resumes on writability. A subscriber that falls
 * {@link #MAX_BACKLOG} events or {@link HttpLimits#watchMaxQueuedBytes()} bytes behind (it stopped reading) is cut
 * off with a last comment saying from which version to resume, and closed {@link JsonAggregator#LINGER_MS} later
 * whether or not that comment could be sent. Watch streams have no idle timeout: this is their bound.
 */
final class Sse implements Hub.Subscriber {

    /** Events queued for one subscriber before it is cut off: about five rounds of changes of a full swarm. */
    static final int MAX_BACKLOG = 10_000;
    /** A comment this often keeps proxies and NAT tables from closing an idle stream. */
    static final long KEEPALIVE_MILLIS = 5_000;
    private static final byte[] KEEPALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII);

    private final Channel channel;
    private final Connections counts;
    private final long maxBytes;
    private final ArrayDeque<Hub.Event> queue = new ArrayDeque<>();
    private long queuedBytes;
    private volatile long lastWritten = -1;
    private boolean drainScheduled;
    private boolean cut;
    private ScheduledFuture<?> keepAlive;

    Sse(Channel channel, Connections counts) {
        this.channel = channel;
        this.counts = counts;
        this.maxBytes = counts.limits().watchMaxQueuedBytes();
    }

    void start() {
        keepAlive = channel.eventLoop().scheduleAtFixedRate(() -> {
            if (channel.isWritable()) {
                channel.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(KEEPALIVE)));
            }
        }, KEEPALIVE_MILLIS, KEEPALIVE_MILLIS, TimeUnit.MILLISECONDS);
    }

    void stop() {
        if (keepAlive != null) {
            keepAlive.cancel(false);
        }
        synchronized (this) {
            queue.clear();
            queuedBytes = 0;
            cut = true;
        }
    }

    @Override
    public boolean offer(Hub.Event e) {
        boolean schedule;
        synchronized (this) {
            if (cut) {
                return false;
            }
            if (queue.size() >= MAX_BACKLOG || (!queue.isEmpty() && queuedBytes + e.sse().length > maxBytes)) {
                cut = true;
                queue.clear();
                queuedBytes = 0;
                long resume = lastWritten;
                channel.eventLoop().execute(() -> cutOff(resume));
                return false;
            }
            queue.addLast(e);
            queuedBytes += e.sse().length;
            schedule = !drainScheduled;
            drainScheduled = true;
        }
        if (schedule) {
            channel.eventLoop().execute(this::drain);
        }
        return true;
    }

    /** On the event loop: write while writable; called again when the channel becomes writable. */
    void drain() {
        boolean wrote = false;
        for (;;) {
            Hub.Event e;
            synchronized (this) {
                if (!channel.isActive() || cut) {
                    drainScheduled = false;
                    return;
                }
                if (!channel.isWritable() || queue.isEmpty()) {
                    drainScheduled = false;
                    break;
                }
                e = queue.pollFirst();
                queuedBytes -= e.sse().length;
            }
            channel.write(new DefaultHttpContent(Unpooled.wrappedBuffer(e.sse())));
            lastWritten = e.version();
            wrote = true;
        }
        if (wrote) {
            channel.flush();
        }
    }

    private void cutOff(long resume) {
        counts.watcherCut();
        String msg = ": too far behind (more than " + MAX_BACKLOG + " events or " + maxBytes + " bytes queued); "
            + "reconnect with since=" + resume + "\n\n";
        channel.write(new DefaultHttpContent(Unpooled.copiedBuffer(msg, StandardCharsets.US_ASCII)));
        channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
        // a watcher that does not read never lets that flush complete: closed all the same
        channel.eventLoop().schedule(() -> {
            channel.close();
        }, JsonAggregator.LINGER_MS, TimeUnit.MILLISECONDS);
    }
}
