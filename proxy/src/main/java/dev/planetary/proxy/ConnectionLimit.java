package dev.planetary.proxy;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A maxconn (global or per frontend): counts connections and tells the {@link AcceptGate} when it fills or frees,
 * so that listeners stop accepting at the limit and resume below it, as HAProxy does.
 *
 * <p>Netty's listeners accept at least once per readiness event, so when listeners resume, those with connections
 * waiting in their kernel queue each accept one even if only one slot freed. Those extra connections wait here,
 * read no further than the one read that found them (see {@code Relay.Events.mayReadEarly}), and take freed slots
 * first; listeners stay paused while any wait. The number waiting across the whole
 * proxy is capped ({@link #PARKED_MAX}, part of the descriptor budget); past the cap a connection is closed.
 */
final class ConnectionLimit {

    /**
     * Most connections that may wait for a slot, over all limits of a proxy: each holds one descriptor, so the cap
     * is part of {@link FdBudget}. 1024 covers a resume edge on a thousand busy listeners.
     */
    static final int PARKED_MAX = 1024;

    private final String name;
    /** Changed at run time by {@code set maxconn}: live connections above a lowered limit are not touched. */
    private volatile int max;
    private final AtomicInteger count = new AtomicInteger();
    private final AtomicInteger parkedTotal;
    private final ConcurrentLinkedQueue<Session> parked = new ConcurrentLinkedQueue<>();
    private final Runnable onEdge;

    /**
     * @param max         0 for no limit
     * @param parkedTotal waiting connections of the whole proxy (shared by every limit)
     * @param onEdge      called when the limit fills or frees (any thread)
     */
    ConnectionLimit(String name, int max, AtomicInteger parkedTotal, Runnable onEdge) {
        this.name = name;
        this.max = max;
        this.parkedTotal = parkedTotal;
        this.onEdge = onEdge;
    }

    String name() { return name; }
    int max() { return max; }

    /**
     * A new limit (0: none), from the runtime API. Raising it lets waiting connections in at once; lowering it
     * closes nothing: new connections wait until the count is below it.
     */
    void max(int newMax) {
        this.max = newMax;
        onEdge.run();
        Session next;
        while (!parked.isEmpty() && tryAcquire()) {
            next = parked.poll();
            if (next == null) {
                release();
                return;
            }
            parkedTotal.decrementAndGet();
            if (!next.takeLimitSlot(this)) {
                release();
            }
        }
    }
    int count() { return count.get(); }

    /** May listeners accept for this limit? */
    boolean hasRoom() {
        int max = this.max;
        return max == 0 || (count.get() < max && parked.isEmpty());
    }

    boolean tryAcquire() {
        int max = this.max;
        if (max == 0) {
            count.incrementAndGet();
            return true;
        }
        for (;;) {
            int cur = count.get();
            if (cur >= max) {
                return false;
            }
            if (count.compareAndSet(cur, cur + 1)) {
                if (cur + 1 == max) {
                    onEdge.run();
                }
                return true;
            }
        }
    }

    /** Frees a slot, or hands it straight to a waiting connection (the count then stays the same). */
    void release() {
        for (;;) {
            Session next;
            while ((next = parked.poll()) != null) {
                parkedTotal.decrementAndGet();
                if (next.takeLimitSlot(this)) {
                    return;
                }
            }
            int now = count.decrementAndGet();
            int max = this.max;
            if (max > 0 && now == max - 1) {
                onEdge.run();
            }
            // A park() may have added itself after the poll above and failed its tryAcquire before the decrement:
            // both sides look again after their write (as park does), so the slot goes to it rather than nobody.
            if (parked.isEmpty() || !tryAcquire()) {
                return;
            }
        }
    }

    /**
     * Lets a connection accepted while full wait for a slot.
     *
     * @return false if too many connections wait already: the caller closes this one
     */
    boolean park(Session session) {
        if (parkedTotal.incrementAndGet() > PARKED_MAX) {
            parkedTotal.decrementAndGet();
            return false;
        }
        parked.add(session);
        // A release may have run between the failed tryAcquire and the add: take its slot for the oldest waiter.
        if (tryAcquire()) {
            Session p = parked.poll();
            if (p == null) {
                release();
            } else {
                parkedTotal.decrementAndGet();
                if (!p.takeLimitSlot(this)) {
                    release();
                }
            }
        }
        return true;
    }
}
