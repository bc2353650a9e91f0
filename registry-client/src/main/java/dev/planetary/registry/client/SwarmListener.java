package dev.planetary.registry.client;

/** Follows a {@link SwarmWatch}. Both methods are called on the watch's own notifier thread, one call at a time. */
public interface SwarmListener {

    /**
     * A complete new view. Views are handed over whole and in version order; when the listener is slower than the
     * changes arrive, intermediate views are skipped and it gets the newest (one rebuild per batch, never per VM).
     * An exception thrown here is logged and does not stop the watch.
     */
    void onView(SwarmView view);

    /**
     * The registry became unreachable ({@code stale=true}: the last view stays in force, nothing is emptied) or
     * reachable again ({@code stale=false}). Called once per transition.
     */
    default void onStale(boolean stale, String reason) {
    }
}
