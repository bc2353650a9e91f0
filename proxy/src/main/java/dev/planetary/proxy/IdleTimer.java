package dev.planetary.proxy;

import dev.planetary.core.connect.IdleDeadlines;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * Closes an established connection that has been idle too long ({@link IdleDeadlines} decides; this class only owns
 * the timer on the connection's event loop).
 *
 * <p>At most one check is scheduled. Activity never touches it: when it fires it recomputes the deadline from the last
 * activity and re-arms, so a busy connection costs one timer per idle period, not one per read. A FIN only moves it
 * when a shorter client-fin / server-fin now applies.
 */
final class IdleTimer implements Runnable {

    /** What happens when the connection has been idle too long. */
    interface Expiry {
        /** False once the connection has ended (a check that fires late then does nothing). */
        boolean live();

        void idleTimeout();

        /** The connection's event loop, where the check runs. */
        EventLoop loop();

        /** That loop's clock. */
        LoopClock clock();
    }

    // One timer per connection: the loop and clock are the connection's, asked for when needed, not copied here.
    private final IdleDeadlines deadlines;
    private final Expiry expiry;
    private ScheduledFuture<?> timer;
    private long timerDueNanos; // when the scheduled check runs (valid while timer != null)

    IdleTimer(IdleDeadlines deadlines, Expiry expiry) {
        this.deadlines = deadlines;
        this.expiry = expiry;
    }

    /** Makes sure a check runs no later than the limits now in force fall due. */
    void arm() {
        long due = deadlines.dueNanos();
        if (due == IdleDeadlines.NEVER) {
            return;
        }
        if (timer != null) {
            if (timerDueNanos - due <= 0) {
                return;
            }
            timer.cancel(false);
        }
        schedule(due, expiry.clock().nanoTime());
    }

    void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /** The check: ends the connection if a side has been idle longer than its limit, else re-arms. */
    @Override
    public void run() {
        timer = null;
        if (!expiry.live()) {
            return;
        }
        long due = deadlines.dueNanos();
        if (due == IdleDeadlines.NEVER) {
            return;
        }
        long now = expiry.clock().fresh(); // a timer must not judge by a time read before it was due
        if (now - due >= 0) {
            expiry.idleTimeout();
        } else {
            schedule(due, now);
        }
    }

    private void schedule(long due, long now) {
        timerDueNanos = due;
        timer = expiry.loop().schedule(this, Math.max(0, due - now), TimeUnit.NANOSECONDS);
    }
}
