package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.ConfigParser;
import dev.planetary.core.config.ConfigResult;
import dev.planetary.core.config.ProxyConfig;
import dev.planetary.core.connect.IdleDeadlines;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DuplexChannel;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link Relay} between two {@link EmbeddedChannel}s, with its idle timer on the client's loop and the time frozen:
 * tests push reads, FINs and errors into either side and advance the clock by hand.
 */
final class EmbeddedRelay implements Relay.Events, IdleTimer.Expiry, AutoCloseable {

    /** An EmbeddedChannel that can be half-closed, and remembers how many messages had gone out when it was. */
    static final class DuplexEmbeddedChannel extends EmbeddedChannel implements DuplexChannel {
        boolean outputShut;
        int outboundAtShutdown = -1;

        DuplexEmbeddedChannel() {
            config().setWriteBufferWaterMark(Relay.WATER_MARK);
        }

        @Override public boolean isInputShutdown() { return false; }
        @Override public ChannelFuture shutdownInput() { return shutdownInput(newPromise()); }
        @Override public ChannelFuture shutdownInput(ChannelPromise p) { return p.setSuccess(); }
        @Override public boolean isOutputShutdown() { return outputShut; }
        @Override public ChannelFuture shutdownOutput() { return shutdownOutput(newPromise()); }

        @Override
        public ChannelFuture shutdownOutput(ChannelPromise p) {
            outputShut = true;
            outboundAtShutdown = outboundMessages().size();
            return p.setSuccess();
        }

        @Override public boolean isShutdown() { return outputShut; }
        @Override public ChannelFuture shutdown() { return shutdownOutput(); }
        @Override public ChannelFuture shutdown(ChannelPromise p) { return shutdownOutput(p); }
    }

    final DuplexEmbeddedChannel client = new DuplexEmbeddedChannel();
    final DuplexEmbeddedChannel server = new DuplexEmbeddedChannel();
    final Frontend frontend;
    final IdleDeadlines idle;
    final LoopClock clock;
    final Relay relay;
    final IdleTimer timer;
    final AtomicInteger halfClosed = new AtomicInteger();
    final AtomicInteger clientClosed = new AtomicInteger();
    final AtomicInteger timeouts = new AtomicInteger();
    private final ControlAgent control = new ControlAgent(); // the backend's owner (unused by the relay)

    /** @param defaults lines of the {@code defaults} section (timeouts) */
    EmbeddedRelay(String defaults) {
        ConfigResult r = ConfigParser.parse("relay.cfg", """
            defaults
                mode tcp
            %s
            listen be
                bind 127.0.0.1:1
                server s1 127.0.0.1:2
            """.formatted(defaults.indent(4)));
        assertThat(r.errors()).isEmpty();
        ProxyConfig cfg = r.config();
        ProxyBackend backend = new ProxyBackend(cfg.backends().get(0), control);
        java.util.concurrent.atomic.AtomicInteger parked = new java.util.concurrent.atomic.AtomicInteger();
        AcceptGate gate = new AcceptGate();
        ConnectionLimit global = new ConnectionLimit("global", 0, parked, gate::reconcile);
        frontend = new Frontend(cfg.frontends().get(0), backend, global, parked, gate);
        client.freezeTime();
        clock = new LoopClock(client.eventLoop().ticker(), false);
        idle = new IdleDeadlines(frontend.idleLimits);
        relay = new Relay(client, this, idle, clock, frontend);
        timer = new IdleTimer(idle, this);
        client.pipeline().addLast(relay.clientHandler());
        server.pipeline().addLast(relay.serverHandler());
        client.config().setAutoRead(false);
        server.config().setAutoRead(false);
    }

    /** The server side connects, as the Connector would report it. */
    EmbeddedRelay connect() {
        relay.serverConnected(server);
        timer.arm();
        return this;
    }

    /** Moves the frozen time on and runs the timers that fall due. */
    void advanceMs(long ms) {
        client.advanceTimeBy(ms, java.util.concurrent.TimeUnit.MILLISECONDS);
        client.runScheduledPendingTasks();
    }

    @Override public void clientActive() { }

    @Override
    public void halfClosed() {
        halfClosed.incrementAndGet();
        timer.arm();
    }

    @Override
    public void clientClosed() {
        clientClosed.incrementAndGet();
        timer.cancel();
        relay.end();
    }

    @Override public boolean live() { return clientClosed.get() == 0; }

    /** What {@link #mayReadEarly} answers: a session holding its maxconn slots, unless a test says otherwise. */
    volatile boolean holdsSlots = true;

    @Override public boolean mayReadEarly() { return holdsSlots; }

    @Override public io.netty.channel.EventLoop loop() { return client.eventLoop(); }

    @Override public LoopClock clock() { return clock; }

    @Override
    public void idleTimeout() {
        timeouts.incrementAndGet();
        relay.closeBoth();
    }

    @Override
    public void close() {
        control.close();
        client.finishAndReleaseAll();
        server.finishAndReleaseAll();
    }
}
