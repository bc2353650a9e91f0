package dev.planetary.proxy.stats;

/**
 * When an entity last changed state (HAProxy's {@code lastchg}), how long it has been down in total
 * ({@code downtime}) and how often it went down ({@code chkdown}). Written by one thread (the backends' owner, the
 * control agent), read by any.
 *
 * <p>It is the entity's {@link Counters} too, and {@link ServerStats} is one: one object per server instead of three
 * (see {@link Counters}' class comment). A backend keeps them apart ({@link BackendStats}: one of each per backend).
 */
public class StateClock extends Counters {

    private volatile long lastChangeNanos;
    private volatile long downSinceNanos; // 0 while up
    private volatile long downtimeNanos;
    private volatile long wentDown;
    private volatile boolean known;
    private volatile boolean up;

    StateClock(long nowNanos) {
        this.lastChangeNanos = nowNanos;
    }

    /**
     * Records the state seen now; a change from the last one restarts {@code lastchg}. The first call only sets the
     * initial state (a server that starts down has not "gone down").
     *
     * @param up          operational (HAProxy's UP/DOWN, not the admin state)
     * @param changed     another kind of change that also restarts lastchg (admin state), as HAProxy counts them
     */
    public void note(boolean up, boolean changed, long nowNanos) {
        if (!known) {
            known = true;
            this.up = up;
            if (!up) {
                downSinceNanos = nowNanos;
            }
            return;
        }
        if (up != this.up) {
            this.up = up;
            lastChangeNanos = nowNanos;
            if (up) {
                downtimeNanos += nowNanos - downSinceNanos;
                downSinceNanos = 0;
            } else {
                downSinceNanos = nowNanos;
                wentDown++;
            }
        } else if (changed) {
            lastChangeNanos = nowNanos;
        }
    }

    /** Seconds since the last change. */
    public long lastChangeSeconds(long nowNanos) {
        return Math.max(0, (nowNanos - lastChangeNanos) / FreqCounter.SECOND);
    }

    /** Total seconds down, including the current down period. */
    public long downtimeSeconds(long nowNanos) {
        long since = downSinceNanos;
        long total = downtimeNanos + (since != 0 ? nowNanos - since : 0);
        return Math.max(0, total / FreqCounter.SECOND);
    }

    public long wentDown() {
        return wentDown;
    }
}
