package dev.planetary.proxy;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/**
 * The file descriptors a configuration needs, against the process's RLIMIT_NOFILE.
 *
 * <p>Each listening port is one descriptor, each proxied connection two (client and server side). Running out of
 * descriptors mid-flight makes accept() and connect() fail in ways users cannot diagnose (and made the JVM hang in
 * our tests), so the proxy refuses to start instead.
 */
public final class FdBudget {

    /**
     * Descriptors kept for everything else: the JVM's own jars and pipes, epoll and event fds (two per event loop),
     * health-check connections, log files. Measured: an idle proxy JVM holds about 40.
     */
    public static final int RESERVE = 128;

    /** Upper bound for the derived global maxconn when the config sets none (HAProxy derives it from ulimit too). */
    public static final int MAX_DERIVED_MAXCONN = 1_000_000;

    private FdBudget() {
    }

    /** Descriptors needed for {@code listeners} sockets and {@code maxconn} proxied connections. */
    public static long needed(int listeners, int maxconn) {
        return (long) listeners + 2L * maxconn + reserve();
    }

    /** Everything else: the fixed reserve plus connections that may wait for a maxconn slot. */
    static int reserve() {
        return RESERVE + ConnectionLimit.PARKED_MAX;
    }

    /** The soft RLIMIT_NOFILE as the JVM sees it (the JVM raises the soft limit to the hard one at start), or -1. */
    public static long limit() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            return unix.getMaxFileDescriptorCount();
        }
        return -1;
    }

    /** The global maxconn to use when the config sets none: what the descriptor limit leaves room for. */
    public static int derivedMaxconn(int listeners, long limit) {
        long room = (limit - listeners - reserve()) / 2;
        return (int) Math.max(0, Math.min(MAX_DERIVED_MAXCONN, room));
    }

    /** The message printed when the limit is too low. */
    public static String refusal(int ports, int sockets, int maxconn, long limit) {
        long need = needed(sockets, maxconn);
        return String.format(
            "not enough file descriptors: this configuration needs %,d (%,d listening sockets for %,d ports + 2 x %,d"
                + " connections at maxconn + %d reserve) but the limit (RLIMIT_NOFILE) is %,d.%n"
                + "  Raise it before starting the proxy: 'ulimit -n %d' in the starting shell (the hard limit must"
                + " allow it: /etc/security/limits.conf), or LimitNOFILE=%d in the systemd unit;"
                + " or lower 'maxconn' in the global section, or bind fewer ports.",
            need, sockets, ports, maxconn, reserve(), limit, need, need);
    }
}
