package dev.planetary.proxy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.BackendConfig;
import dev.planetary.proxy.stats.Counters;
import dev.planetary.proxy.stats.FreqCounter;
import dev.planetary.proxy.log.TerminationState;
import io.netty.channel.Channel;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * Whether a connection may go on, and when: a slot under the global maxconn, then one under its frontend's maxconn
 * (waiting in the limit's line when it is full, read no further than the one read that found it), then, when every usable server is at its own maxconn, a
 * place in the backend's queue for up to {@code timeout queue}.
 *
 * <p>Runs on the connection's event loop, except {@link #takeLimitSlot}, {@link #waiting} and {@link #dequeued},
 * which other threads call (a limit freeing a slot, the backend dispatching its queue): they only flip
 * {@link #queueState} with a CAS or hop onto the loop.
 */
final class Admission {

    private static final int QUEUE_NONE = 0;
    private static final int QUEUE_WAITING = 1;
    private static final int QUEUE_DISPATCHED = 2;
    private static final int QUEUE_DONE = 3;

    /** A field updater instead of an AtomicInteger: one object less per connection. */
    private static final AtomicIntegerFieldUpdater<Admission> QUEUE_STATE =
        AtomicIntegerFieldUpdater.newUpdater(Admission.class, "queueState");

    // Per connection: the frontend, backend, client channel and counter slots are the session's, read through it.
    private final Session session;
    private final boolean mayQueue;

    private volatile int queueState = QUEUE_NONE;
    private boolean globalSlot;
    private boolean frontendSlot;
    /** In the backend's session count ({@link Counters#CUR}), in its queue count ({@link Counters#QCUR}). */
    private boolean inBackend;
    private boolean inQueue;
    private ScheduledFuture<?> queueTimer;
    /** While {@link #inQueue}: when it entered the queue (nanoTime); after: ms it waited there (0 if it never did). */
    private long queued;

    /** @param mayQueue false for a pinned connection: its one server or nothing, never the backend's queue */
    Admission(Session session, boolean mayQueue) {
        this.session = session;
        this.mayQueue = mayQueue;
    }

    long queuedMs() {
        return inQueue ? 0 : queued;
    }

    /** Holds its global and frontend maxconn slots: no longer waiting beyond a limit. */
    boolean holdsSlots() {
        return globalSlot && frontendSlot;
    }

    /** Still in the backend's queue or waiting for a maxconn slot (the connection log's Q phase). */
    boolean inQueue() {
        return inQueue || !frontendSlot;
    }

    /** Takes the global and the frontend slot (or waits for them), then lets the connection pick a server. */
    void admit() {
        if (session.ended()) {
            return;
        }
        Frontend frontend = session.frontend();
        if (!globalSlot) {
            if (!frontend.global.tryAcquire()) {
                if (!frontend.global.park(session)) {
                    deny();
                }
                return;
            }
            globalSlot = true;
        }
        if (!frontendSlot) {
            if (!frontend.limit.tryAcquire()) {
                if (!frontend.limit.park(session)) {
                    deny();
                }
                return;
            }
            frontendSlot = true;
            Counters.max(session.feCounts(), Counters.SMAX, frontend.limit.count());
        }
        if (!inBackend) { // the session enters its backend: HAProxy's be stot, rate and lastsess
            inBackend = true;
            long now = session.now();
            long[] beCounts = session.beCounts();
            Counters.increment(beCounts, Counters.CUR);
            Counters.increment(beCounts, Counters.STOT);
            FreqCounter.increment(beCounts, now);
            Counters.set(beCounts, Counters.LAST_SESS, now);
        }
        if (mayQueue && session.backend().hasQueue()) {
            enqueue(); // earlier connections wait already: first come, first served
        } else {
            session.admitted();
        }
    }

    /** Too many connections already wait for a maxconn slot: this one is closed rather than held. */
    private void deny() {
        Counters.increment(session.feCounts(), Counters.DREQ);
        session.ending(TerminationState.PROXY, TerminationState.QUEUE);
        session.client().close();
    }

    /** A limit hands this parked connection its slot; any thread. @return false if the connection is gone */
    boolean takeLimitSlot(ConnectionLimit limit) {
        Channel client = session.client();
        if (!client.isActive()) {
            return false;
        }
        client.eventLoop().execute(() -> {
            if (session.ended()) {
                limit.release();
                return;
            }
            if (limit == session.frontend().global) {
                globalSlot = true;
            } else {
                frontendSlot = true;
            }
            admit();
        });
        return true;
    }

    /** Waits in the backend's queue for a server slot, up to timeout queue (or timeout connect). */
    void enqueue() {
        queueState = QUEUE_WAITING;
        inQueue = true;
        queued = session.now();
        long[] beCounts = session.beCounts();
        Counters.increment(beCounts, Counters.QCUR);
        Counters.increment(beCounts, Counters.QUEUED);
        ProxyBackend backend = session.backend();
        BackendConfig bc = backend.config();
        long ms = bc.queueTimeoutMs() > 0 ? bc.queueTimeoutMs() : bc.connectTimeoutMs();
        if (ms > 0) {
            Channel client = session.client();
            queueTimer = client.eventLoop().schedule(() -> {
                if (QUEUE_STATE.compareAndSet(this, QUEUE_WAITING, QUEUE_DONE)) {
                    Counters.increment(beCounts, Counters.QTIMEOUTS);
                    session.ending(TerminationState.SERVER_TIMEOUT, TerminationState.QUEUE);
                    outOfQueue();
                    client.close();
                }
            }, ms, TimeUnit.MILLISECONDS);
        }
        backend.enqueue(session);
    }

    /** Still waiting in the backend queue? Any thread. */
    boolean waiting() {
        return queueState == QUEUE_WAITING;
    }

    /** The queue gives this connection a server whose slot is already taken. Any thread. */
    boolean dequeued(Server s) {
        if (!QUEUE_STATE.compareAndSet(this, QUEUE_WAITING, QUEUE_DISPATCHED)) {
            return false;
        }
        session.client().eventLoop().execute(() -> {
            if (queueTimer != null) {
                queueTimer.cancel(false);
                queueTimer = null;
            }
            outOfQueue();
            if (session.ended()) {
                session.backend().release(s);
            } else {
                session.assigned(s);
            }
        });
        return true;
    }

    /** The connection has ended: out of the queue for good. */
    void leaveQueue() {
        queueState = QUEUE_DONE;
        outOfQueue();
        if (queueTimer != null) {
            queueTimer.cancel(false);
            queueTimer = null;
        }
    }

    /** Left the queue (served, timed out or ended): out of the queue count, its wait measured. Event loop. */
    private void outOfQueue() {
        if (inQueue) {
            inQueue = false;
            queued = (session.now() - queued) / 1_000_000;
            Counters.add(session.beCounts(), Counters.QCUR, -1);
        }
    }

    /** The connection has ended: gives back the frontend and global slots (after its server slot). */
    void releaseSlots() {
        if (inBackend) {
            inBackend = false;
            Counters.add(session.beCounts(), Counters.CUR, -1);
        }
        Frontend frontend = session.frontend();
        if (frontendSlot) {
            frontendSlot = false;
            frontend.limit.release();
        }
        if (globalSlot) {
            globalSlot = false;
            frontend.global.release();
        }
    }
}
