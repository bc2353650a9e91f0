package dev.planetary.swarm;

/**
 * Which port plan {@code up} runs on this machine, from the descriptor limit the proxy will have: the shipped plan
 * (10000-19999, 20000-29999, 30000-31999, 32000 with {@code maxconn 20000}) when it fits, else the same layout with
 * the first two ranges cut to 2,000 ports each (10000-11999, 20000-21999) and a {@code maxconn} that fits. Cutting
 * there costs no VM: the swarm's cap is the smallest range's size minus its entrance, 1,999 in both plans (the
 * transfer range is 2,000 ports in the shipped plan already).
 *
 * @param full     the shipped plan
 * @param pcpuHigh last port of the pcpu range (19999 or 11999)
 * @param sshHigh  last port of the pfsshfs range (29999 or 21999)
 * @param maxconn  global maxconn for the proxy
 * @param needed   descriptors the proxy needs with this plan
 */
record PlanChoice(boolean full, int pcpuHigh, int sshHigh, int maxconn, long needed) {

    /** The shipped config's global maxconn. */
    static final int FULL_MAXCONN = 20_000;
    /** What the proxy keeps back besides listeners and 2 per connection (its own rule: JVM, checks, a backlog). */
    static final int PROXY_RESERVE = 1_152;
    /** The reduced plan's range size: the transfer range's, so the VM cap (1,999) stays the shipped plan's. */
    static final int REDUCED_RANGE = 2_000;
    /** Below this maxconn a local swarm is not worth starting. */
    static final int MIN_MAXCONN = 1_000;

    /** Listening sockets: one per port, plus one per event loop for the single-port ws frontend. */
    static long listeners(int pcpuPorts, int sshPorts, int cores) {
        return pcpuPorts + sshPorts + 2_000L + cores;
    }

    static long needed(long listeners, int maxconn) {
        return listeners + 2L * maxconn + PROXY_RESERVE;
    }

    /**
     * @param limit the proxy's RLIMIT_NOFILE (the hard limit: the JVM raises its soft limit to it)
     * @param cores the proxy's event loops
     * @param insist {@code --full}: the shipped plan even when it does not fit (the proxy then refuses, saying why)
     */
    static PlanChoice choose(long limit, int cores, boolean insist) {
        long fullNeeded = needed(listeners(10_000, 10_000, cores), FULL_MAXCONN);
        if (insist || fullNeeded <= limit) {
            return new PlanChoice(true, 19_999, 29_999, FULL_MAXCONN, fullNeeded);
        }
        long listeners = listeners(REDUCED_RANGE, REDUCED_RANGE, cores);
        long room = (limit - listeners - PROXY_RESERVE) / 2;
        int maxconn = (int) Math.min(FULL_MAXCONN, room / 100 * 100);
        if (maxconn < MIN_MAXCONN) {
            throw new IllegalStateException("the descriptor limit (" + limit + ") is too low even for the reduced "
                + "plan (" + listeners + " listening sockets + 2 x " + MIN_MAXCONN + " connections + "
                + PROXY_RESERVE + "); raise it: ulimit -n 65536 (hard limit: /etc/security/limits.conf)");
        }
        return new PlanChoice(false, 10_000 + REDUCED_RANGE - 1, 20_000 + REDUCED_RANGE - 1, maxconn,
            needed(listeners, maxconn));
    }

    /** Genesis' {@code --port-plan} for this plan. */
    String genesisPlan() {
        return "pcpu=10000-" + pcpuHigh + ",pfsshfs=20000-" + sshHigh + ",transfer=30000-31999";
    }

    /** The shipped config text turned into this plan's: the two cut ranges and maxconn. */
    String config(String shipped) {
        if (full) {
            return shipped;
        }
        String c = shipped.replace("bind 127.0.0.1:10000-19999", "bind 127.0.0.1:10000-" + pcpuHigh)
            .replace("bind 127.0.0.1:20000-29999", "bind 127.0.0.1:20000-" + sshHigh)
            .replaceFirst("(?m)^(\\s*)maxconn 20000\\b", "$1maxconn " + maxconn);
        if (c.contains("10000-19999") || c.contains("20000-29999") || !c.contains("maxconn " + maxconn)) {
            throw new IllegalStateException("conf/planetary.cfg no longer has the binds and maxconn line that up "
                + "shortens (10000-19999, 20000-29999, maxconn 20000)");
        }
        return "# Made by bin/planetary up from conf/planetary.cfg: the same layout with shorter pcpu and pfsshfs\n"
            + "# ranges and a lower maxconn, so it fits this machine's descriptor limit (--full: the shipped plan).\n"
            + c;
    }

    String describe() {
        return full ? "the shipped plan: 10000-19999, 20000-29999, 30000-31999, 32000, maxconn " + maxconn
            : "a reduced plan: 10000-" + pcpuHigh + ", 20000-" + sshHigh + ", 30000-31999, 32000, maxconn "
            + maxconn;
    }
}
