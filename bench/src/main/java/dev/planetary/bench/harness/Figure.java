package dev.planetary.bench.harness;

/** One row of the results table. */
public enum Figure {
    BULK1(Group.TRAFFIC, "bulk throughput, 1 connection", "MB/s", true, 1e-6, true),
    BULK8(Group.TRAFFIC, "bulk throughput, 8 connections", "MB/s", true, 1e-6, true),
    RR_OPS(Group.TRAFFIC, "request/response, 50 connections", "ops/s", true, 1, true),
    RR_P50(Group.TRAFFIC, "  latency p50", "us", false, 1e-3, true),
    RR_P99(Group.TRAFFIC, "  latency p99", "us", false, 1e-3, true),
    RR_P999(Group.TRAFFIC, "  latency p99.9", "us", false, 1e-3, true),
    /** The proxy's CPU per request: its cost, which ranks the proxies even where the generator bounds the rate. */
    RR_CPU(Group.TRAFFIC, "  proxy CPU per request", "us", false, 1, false),
    CPS(Group.TRAFFIC, "new connections", "conn/s", true, 1, true),
    CPS_P99(Group.TRAFFIC, "  latency p99 (request to answer)", "us", false, 1e-3, true),
    CPS_CPU(Group.TRAFFIC, "  proxy CPU per connection", "us", false, 1, false),
    /** Syslog lines the {@code --syslog-sink} received per new connection: 1 with a connection log, else 0. */
    CPS_LOG_LINES(Group.TRAFFIC, "  log lines per connection (--syslog-sink)", "lines", true, 1, false),
    CPS_COLD(Group.TRAFFIC, "new connections, cold: first seconds after start", "conn/s", true, 1, true),
    CPU_PER_GB(Group.TRAFFIC, "proxy CPU per GB (8-connection bulk)", "CPU s/GB", false, 1, false),
    RSS_PER_CONN(Group.IDLE, "proxy RSS per idle connection", "bytes", false, 1, false),
    STARTUP(Group.STARTUP, "start-up until every port accepts", "ms", false, 1e-6, false);

    /** Figures measured together: the same proxy process serves a group (a fresh one per group and target). */
    public enum Group { TRAFFIC, IDLE, STARTUP }

    final Group group;
    final String label;
    final String unit;
    final boolean higherIsBetter;
    /** Multiplier from the raw value (bytes/s, ns, bytes, CPU s) to the unit shown. */
    final double scale;
    /** Whether the direct target has this figure (a proxy's own costs do not exist without a proxy). */
    final boolean direct;

    Figure(Group group, String label, String unit, boolean higherIsBetter, double scale, boolean direct) {
        this.group = group;
        this.label = label;
        this.unit = unit;
        this.higherIsBetter = higherIsBetter;
        this.scale = scale;
        this.direct = direct;
    }
}
