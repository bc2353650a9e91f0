package dev.planetary.registry.client;

import java.util.List;
import java.util.function.DoubleSupplier;

/**
 * Which Genesis URL of a fail-over list to use, and how long to wait before the next attempt. Pure logic (no I/O,
 * no clock), owned by one thread: the watch's or the agent's event loop.
 *
 * <p>A failed attempt (Genesis down, or answering 5xx) moves on to the next URL at once; only when every URL has
 * failed in a row does the caller wait, with the capped exponential backoff and jitter of one URL (round n of the
 * whole list waits what attempt n of a single URL waits). A success resets the count and stays on that URL: the
 * list is an order of preference only for the first attempt, so a client never flaps back to a Genesis that just
 * failed.
 */
final class Failover {

    private final List<Endpoint> urls;
    private final Backoff backoff;
    private int index;
    /** Attempts that failed in a row since the last success. */
    private int failures;

    Failover(List<Endpoint> urls, Backoff backoff) {
        if (urls.isEmpty()) {
            throw new IllegalArgumentException("at least one Genesis URL is needed");
        }
        this.urls = List.copyOf(urls);
        this.backoff = backoff;
    }

    /** The URL the next attempt goes to. */
    Endpoint current() {
        return urls.get(index);
    }

    int index() {
        return index;
    }

    int size() {
        return urls.size();
    }

    /** Attempts that failed in a row since the last success. */
    int failures() {
        return failures;
    }

    /** The current URL answered well: stay on it, and the next failure moves on at once. */
    void succeeded() {
        failures = 0;
    }

    /**
     * The current URL is down or answered 5xx: move to the next one. Returns the wait before the next attempt in
     * nanoseconds: 0 while some URL of this round is untried, else the backoff of the round.
     */
    long failed(DoubleSupplier random) {
        failures++;
        index = (index + 1) % urls.size();
        return failures % urls.size() != 0 ? 0 : backoff.delayNanos(failures / urls.size(), random);
    }

    /**
     * The current URL answered, but not so that moving would help (a 4xx, a malformed stream): try it again after
     * the backoff of this many failures in a row.
     */
    long retrySame(DoubleSupplier random) {
        failures++;
        return backoff.delayNanos(failures, random);
    }
}
