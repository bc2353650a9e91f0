package dev.planetary.core.health;

/**
 * Rise/fall bookkeeping for one server, as HAProxy's checks: {@code fall} consecutive failures take an up server
 * down, {@code rise} consecutive successes bring a down server back. Pure logic: the caller owns timing and
 * threading (one thread per state).
 *
 * <p>Open so that a checker's task for one server can be its state too (one object per checked server rather than
 * two: a relist of a swarm starts thousands of checks at once, issue 8); nothing here is meant to be overridden.
 */
public class HealthState {

    /** What a recorded result did to the state. */
    public enum Transition { NONE, WENT_UP, WENT_DOWN }

    private final int rise;
    private final int fall;
    private boolean up;
    private int streak;

    public HealthState(int rise, int fall, boolean initiallyUp) {
        if (rise < 1 || fall < 1) {
            throw new IllegalArgumentException("rise and fall must be >= 1");
        }
        this.rise = rise;
        this.fall = fall;
        this.up = initiallyUp;
    }

    public final boolean up() {
        return up;
    }

    /** Records one check (or one live connection attempt) and says whether the state flipped. */
    public final Transition record(boolean success) {
        if (up == success) {
            streak = 0; // result agrees with the state: any opposite streak is broken
            return Transition.NONE;
        }
        streak++;
        if (up && streak >= fall) {
            up = false;
            streak = 0;
            return Transition.WENT_DOWN;
        }
        if (!up && streak >= rise) {
            up = true;
            streak = 0;
            return Transition.WENT_UP;
        }
        return Transition.NONE;
    }
}
