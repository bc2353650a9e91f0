package dev.planetary.proxy.stats;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A server's counters ({@link Counters}) and its check results. Counters are per thread; the check fields are
 * written by the health checker's one thread, the state clock by the backends' owner. It is its own counters and
 * state clock (one object, not three: see {@link Counters}' class comment).
 */
public final class ServerStats extends StateClock {

    private final String name;
    private final int sid;
    /**
     * The highest one-second session rate seen ({@link MaxSampler}'s job, kept in a field here: every server of a
     * discovered swarm has stats, and a relist of thousands makes them at once, so one object fewer each).
     */
    @SuppressWarnings("unused") // through RATE_MAX
    private volatile long rateMax;
    /** The weight its config gave it when it joined (HAProxy's {@code iweight}), -1 unknown; backends' owner. */
    private volatile int initialWeight = -1;

    private static final VarHandle RATE_MAX;

    static {
        try {
            RATE_MAX = MethodHandles.lookup().findVarHandle(ServerStats.class, "rateMax", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * Its health check's settings and results, made when it is first checked: most servers of a swarm that a relist
     * makes by the thousand have no check, and its six fields would be a third of this object (issue 8).
     */
    private volatile Checks checks;

    /** The check fields of a checked server: settings from the control agent, results from the health checker. */
    private static final class Checks {
        /** Failed checks (and failed live connects counted as checks) while the server was up: HAProxy's chkfail. */
        volatile long failures;
        /** HAProxy's check_status code ({@code L4OK}, {@code L4CON}, {@code L4TOUT}, {@code INI}). */
        volatile String status = "INI";
        volatile long durationMs = -1;
        /** The last check's detail (HAProxy's {@code last_chk}), e.g. "Connection refused". */
        volatile String last;
        /** The server's check settings, set when it joins its backend. */
        volatile int rise;
        volatile int fall;
    }

    ServerStats(String name, int sid, long nowNanos) {
        super(nowNanos);
        this.name = name;
        this.sid = sid;
    }

    public String name() { return name; }
    /** HAProxy's server id within its backend ({@code sid}), from 1 in order of appearance. */
    public int sid() { return sid; }
    public Counters counters() { return this; }
    public StateClock state() { return this; }

    public long rate(long nowNanos) {
        return FreqCounter.read(this, nowNanos);
    }

    public long rateMax(long nowNanos) {
        return offerRateMax(rate(nowNanos));
    }

    /** Offers a one-second rate sample to the maximum; returns the maximum. */
    long offerRateMax(long rate) {
        for (;;) { // MaxSampler's loop, on a field here (a constant VarHandle: no per-call type adaptation)
            long cur = rateMax;
            if (rate <= cur) {
                return cur;
            }
            if (RATE_MAX.compareAndSet(this, cur, rate)) {
                return rate;
            }
        }
    }

    /** The weight the server's config gave it when it (last) joined its backend, or -1 if it has not joined. */
    public int initialWeight() { return initialWeight; }

    /** Backends' owner: the server joined with this configured weight. */
    public void initialWeight(int weight) { this.initialWeight = weight; }

    /** One check result (health checker thread only; the server was made {@link #checked(int, int)} before). */
    public void check(boolean ok, boolean timeout, boolean wasUp, String detail, long durationMs) {
        Checks c = checks();
        c.status = ok ? "L4OK" : timeout ? "L4TOUT" : "L4CON";
        c.durationMs = durationMs;
        c.last = detail;
        if (!ok && wasUp) {
            c.failures++;
        }
    }

    /** The server is checked with these settings; its check has not run yet (HAProxy's {@code INI}). Owner only. */
    public void checked(int rise, int fall) {
        Checks c = checks();
        c.rise = rise;
        c.fall = fall;
    }

    /** The check fields, made on first use (by the owner, before the health checker is told to check it). */
    private Checks checks() {
        Checks c = checks;
        if (c == null) {
            c = new Checks();
            checks = c;
        }
        return c;
    }

    public boolean checked() {
        Checks c = checks;
        return c != null && c.rise > 0;
    }

    public int rise() {
        Checks c = checks;
        return c == null ? 0 : c.rise;
    }

    public int fall() {
        Checks c = checks;
        return c == null ? 0 : c.fall;
    }

    public long checkFailures() {
        Checks c = checks;
        return c == null ? 0 : c.failures;
    }

    /** HAProxy's check_status code, or null: never checked. */
    public String checkStatus() {
        Checks c = checks;
        return c == null ? null : c.status;
    }

    public long checkDurationMs() {
        Checks c = checks;
        return c == null ? -1 : c.durationMs;
    }

    public String lastCheck() {
        Checks c = checks;
        return c == null ? null : c.last;
    }

    /** HAProxy's check_desc for a status code. */
    public static String checkDescription(String status) {
        if (status == null) {
            return "";
        }
        return switch (status) {
            case "L4OK" -> "Layer4 check passed";
            case "L4CON" -> "Layer4 connection problem";
            case "L4TOUT" -> "Layer4 timeout";
            case "INI" -> "Initializing";
            default -> "";
        };
    }
}
