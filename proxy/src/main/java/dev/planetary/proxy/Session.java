package dev.planetary.proxy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.connect.IdleDeadlines;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;

import java.net.InetSocketAddress;

/**
 * One proxied TCP connection, from accept to close: the parts that handle it, each a concern of its own, and the
 * order in which they hand over.
 *
 * <ol>
 *   <li>{@link Admission}: the client channel is active; take the global and frontend maxconn slots (or wait for
 *       them), and a place in the backend's queue while every server is full.</li>
 *   <li>{@link Connector} with its {@link dev.planetary.core.connect.ConnectAttempt}: pick a server, connect on the
 *       client's event loop, retry, redispatch, wait the turnaround, give up.</li>
 *   <li>{@link Relay}: bytes both ways with backpressure, half-close and reset propagation, flush-then-close.</li>
 *   <li>{@link IdleTimer} over {@link IdleDeadlines}: timeout client/server and client-fin/server-fin.</li>
 *   <li>{@link #end()}: the client channel is closed; every part gives back what it holds.</li>
 * </ol>
 *
 * <p>Everything runs on the client's event loop except the three entry points other threads call
 * ({@link #takeLimitSlot}, {@link #waiting}, {@link #dequeued}; see {@link Admission}).
 */
final class Session implements Relay.Events, IdleTimer.Expiry, QueueWaiter, AcceptProxy.Target {

    private final Frontend frontend;
    private final Channel client;
    private final Admission admission;
    private final Relay relay;
    private final Connector connector;
    private final IdleTimer idleTimer;
    private int sourceHash;
    private boolean ended;
    /** accept-proxy: the client's addresses as its PROXY header gave them; null for the socket's own. */
    private InetSocketAddress proxiedSource;
    private InetSocketAddress proxiedDestination;

    Session(Proxy proxy, Frontend frontend, Channel client) {
        this(proxy, frontend, client, LoopClock.of(client.eventLoop()));
    }

    Session(Proxy proxy, Frontend frontend, Channel client, LoopClock clock) {
        this.frontend = frontend;
        this.client = client;
        IdleDeadlines idle = new IdleDeadlines(frontend.idleLimits);
        // pin-ports: a port Genesis gave a VM goes to that VM's server only (one array index); null: balanced
        PinnedPool pinned = client.localAddress() instanceof InetSocketAddress a ? frontend.pinned(a.getPort()) : null;
        this.admission = new Admission(this, frontend, client, pinned == null);
        this.relay = new Relay(client, this, idle, clock, frontend);
        this.connector = new Connector(this, client, relay, clock, frontend, proxy,
            pinned == null ? frontend.pool : pinned);
        this.idleTimer = new IdleTimer(idle, client.eventLoop(), clock, this);
    }

    ChannelHandler clientHandler() {
        return relay.clientHandler();
    }

    boolean ended() {
        return ended;
    }

    // ---- hand-overs between the parts (event loop) -------------------------------------------------------------

    @Override
    public void clientActive() {
        frontend.accepted.increment();
        // Inet4Address.hashCode() is the address itself and Inet6Address's is a hash of its bytes: the IP only,
        // never the port, and no allocation.
        sourceHash = clientSource().getAddress().hashCode();
        admission.admit();
    }

    /** accept-proxy: the PROXY header was read (before {@link #clientActive}); these addresses stand for the client's. */
    @Override
    public void proxied(InetSocketAddress source, InetSocketAddress destination) {
        proxiedSource = source;
        proxiedDestination = destination;
    }

    /** The client's address: from its PROXY header on an accept-proxy bind, else the socket's peer. */
    InetSocketAddress clientSource() {
        InetSocketAddress a = proxiedSource;
        return a != null ? a : (InetSocketAddress) client.remoteAddress();
    }

    /** The address the client connected to: from its PROXY header on an accept-proxy bind, else the socket's own. */
    InetSocketAddress clientDestination() {
        InetSocketAddress a = proxiedDestination;
        return a != null ? a : (InetSocketAddress) client.localAddress();
    }

    /** Admitted with no queue ahead: pick a server. */
    void admitted() {
        connector.start(sourceHash);
    }

    /** Every usable server is full. */
    void enqueue() {
        admission.enqueue();
    }

    /** The queue gave this connection a server (slot taken). */
    void assigned(Server s) {
        connector.assigned(s);
    }

    void serverConnected() {
        idleTimer.arm();
    }

    @Override
    public void halfClosed() {
        if (!ended && relay.established()) {
            idleTimer.arm();
        }
    }

    @Override
    public boolean live() {
        return !ended;
    }

    @Override
    public void idleTimeout() {
        frontend.timeouts.increment();
        relay.closeBoth();
    }

    @Override
    public void clientClosed() {
        end();
    }

    private void end() {
        if (ended) {
            return;
        }
        ended = true;
        admission.leaveQueue();
        idleTimer.cancel();
        relay.end();
        connector.end();
        admission.releaseSlots();
    }

    // ---- entry points from other threads (see Admission) ------------------------------------------------------

    /** The client's source-address hash, for the queue's picks. Any thread (written before the session queues). */
    public int sourceHash() {
        return sourceHash;
    }

    public boolean waiting() {
        return admission.waiting();
    }

    public boolean dequeued(Server s) {
        return admission.dequeued(s);
    }

    boolean takeLimitSlot(ConnectionLimit limit) {
        return admission.takeLimitSlot(limit);
    }
}
