package dev.planetary.core.connect;

/**
 * When an established connection has been idle too long ({@code timeout client}/{@code server}, and
 * {@code client-fin}/{@code server-fin} once a side is half-closed). Pure logic over {@code nowNanos}; the caller
 * owns the timer and asks {@link #dueNanos()} when to look again.
 *
 * <p>Bytes moving in either direction count as activity for both sides, so a client that only downloads is not idle
 * while the server sends. A side counts as half-closed from its first FIN in either direction.
 */
public final class IdleDeadlines {

    /** {@link #dueNanos()} when no limit applies. */
    public static final long NEVER = Long.MAX_VALUE;

    private final IdleLimits limits;
    private long lastActivityNanos;
    private boolean clientHalfClosed;
    private boolean serverHalfClosed;

    public IdleDeadlines(IdleLimits limits) {
        this.limits = limits;
    }

    /** Bytes moved (or the connection was established) at {@code nowNanos}. */
    public void activity(long nowNanos) {
        lastActivityNanos = nowNanos;
    }

    public void clientHalfClosed() {
        clientHalfClosed = true;
    }

    public void serverHalfClosed() {
        serverHalfClosed = true;
    }

    /** When the first side will have been idle longer than its limit now in force; {@link #NEVER} if none. */
    public long dueNanos() {
        long client = limits.client(clientHalfClosed);
        long server = limits.server(serverHalfClosed);
        long limit = client > 0 && server > 0 ? Math.min(client, server) : Math.max(client, server);
        return limit > 0 ? lastActivityNanos + limit : NEVER;
    }

    /** Idle past a limit at {@code nowNanos}? */
    public boolean expired(long nowNanos) {
        long due = dueNanos();
        return due != NEVER && nowNanos - due >= 0;
    }
}
