package dev.planetary.core.connect;

import dev.planetary.core.backend.Server;

/**
 * The server side of one connection before it is up: which server to try, and after a failed connect whether to try
 * again, where and when. Pure logic: the caller does the connecting and the waiting, and passes the time in.
 *
 * <p>Each method returns the next {@link Step} for the caller to carry out. The attempt holds at most one server
 * slot at a time ({@link #target()}), taken from the {@link ServerPool} and given back there: on a failure, or by
 * {@link #release()} when the connection ends. Confined to one thread (the connection's event loop).
 *
 * <p>Retries follow HAProxy: {@code retries} re-attempts after the first failure; without redispatch each goes to
 * the same server after the turnaround, if the backend still has it and it is usable and not full, else to a fresh
 * pick; with redispatch each goes at once to another server, and waits the turnaround when the only candidate is the
 * server that just failed.
 */
public final class ConnectAttempt {

    /** What the caller does next. */
    public enum Step {
        /** Connect to {@link #target()} now. */
        CONNECT,
        /** Call {@link #turnaroundOver} at {@link #dueNanos()}. */
        WAIT,
        /** Every usable server is full: wait in the backend's queue for a slot. */
        QUEUE,
        /** No server is usable: close the client. */
        NO_SERVER,
        /** The last retry failed: close the client. */
        GIVE_UP
    }

    private final ServerPool pool;
    private final RetryPolicy policy;
    private int sourceHash;
    private int retriesLeft;
    private Server target;
    private Server failed;
    private long dueNanos;

    public ConnectAttempt(ServerPool pool, RetryPolicy policy) {
        this.pool = pool;
        this.policy = policy;
        this.retriesLeft = policy.retries();
    }

    public RetryPolicy policy() { return policy; }
    public int sourceHash() { return sourceHash; }
    /** The server whose slot this attempt holds, or null. */
    public Server target() { return target; }
    /** When the turnaround of a {@link Step#WAIT} ends. */
    public long dueNanos() { return dueNanos; }
    public int retriesLeft() { return retriesLeft; }

    /** The first pick for a client whose source address hashes to {@code sourceHash}. */
    public Step begin(int sourceHash) {
        this.sourceHash = sourceHash;
        return pick(null);
    }

    /** The backend's queue gave this connection {@code server}, its slot already taken. */
    public void assigned(Server server) {
        target = server;
    }

    /**
     * The connect to {@link #target()} failed: gives its slot back and decides the retry.
     *
     * @return {@link Step#CONNECT} (redispatched to another server), {@link Step#WAIT}, {@link Step#QUEUE},
     *     {@link Step#NO_SERVER} or {@link Step#GIVE_UP}
     */
    public Step failed(long nowNanos) {
        Server s = target;
        if (s == null) {
            throw new IllegalStateException("no connect in progress");
        }
        target = null;
        failed = s;
        pool.release(s);
        if (retriesLeft <= 0) {
            return Step.GIVE_UP;
        }
        retriesLeft--;
        if (policy.redispatch()) {
            Step step = pick(s);
            if (step != Step.CONNECT || target != s) {
                return step;
            }
            // The only candidate is the server that just failed: that is a retry to the same server, which waits.
            pool.release(target);
            target = null;
        }
        dueNanos = nowNanos + policy.turnaroundNanos();
        return Step.WAIT;
    }

    /**
     * The turnaround has passed: the retry's server. Without redispatch the same server if the backend still offers
     * it ({@link ServerPool#reacquire}), else a fresh pick; with redispatch a pick that prefers another server.
     *
     * @return {@link Step#WAIT} if called before {@link #dueNanos()}, else as {@link #begin}
     */
    public Step turnaroundOver(long nowNanos) {
        if (nowNanos - dueNanos < 0) {
            return Step.WAIT;
        }
        Server last = failed;
        if (policy.redispatch()) {
            return pick(last);
        }
        Server again = pool.reacquire(last);
        if (again != null) {
            target = again;
            return Step.CONNECT;
        }
        return pick(null); // it was removed, went down, was drained or filled up meanwhile
    }

    /** The connection ends: gives back the slot it holds, if any. */
    public void release() {
        Server s = target;
        if (s != null) {
            target = null;
            pool.release(s);
        }
    }

    private Step pick(Server avoid) {
        Server s = pool.pick(sourceHash, avoid);
        if (s != null) {
            target = s;
            return Step.CONNECT;
        }
        return pool.anyUsable() ? Step.QUEUE : Step.NO_SERVER;
    }
}
