package dev.planetary.proxy.stats;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.BalanceAlgorithm;
import dev.planetary.proxy.Frontend;
import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.ProxyBackend;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads a running proxy's counters and states into a {@link StatsSnapshot}: every column HAProxy 2.6 fills for a
 * TCP-mode frontend, backend and server, with our figure where we have one and HAProxy's 0 where the column counts
 * something TCP mode never does (HTTP, SSL, compression). Any thread; takes no lock (counters are summed, snapshots
 * read once).
 */
public final class StatsCollector {

    /** HAProxy's {@code show info} fields in order: position, name, typed tag. */
    private static final List<String[]> INFO_FIELDS = infoFields();

    private StatsCollector() {
    }

    public static StatsSnapshot collect(Proxy proxy, long nowNanos) {
        return new StatsSnapshot(rows(proxy, nowNanos), info(proxy, nowNanos), nowNanos);
    }

    // ---- show stat --------------------------------------------------------------------------------------------

    private static List<StatRow> rows(Proxy proxy, long now) {
        ProxyStats stats = proxy.stats();
        // per proxy id: its frontend row, its servers, its backend row (a listen section has both under one id)
        TreeMap<Integer, List<StatRow>> byIid = new TreeMap<>();
        Map<String, Long> fullconn = new HashMap<>();
        for (Frontend f : proxy.frontends()) {
            FrontendStats fs = f.stats();
            // a frontend without maxconn has the global one, as in HAProxy
            long maxconn = f.maxconn() > 0 ? f.maxconn() : proxy.globalMaxconn();
            byIid.computeIfAbsent(fs.iid(), k -> new ArrayList<>()).add(frontendRow(f, fs, maxconn, now));
            fullconn.merge(f.backend().name(), maxconn, Long::sum);
        }
        for (ProxyBackend b : proxy.backends()) {
            BackendStats bs = b.stats();
            List<StatRow> rows = byIid.computeIfAbsent(bs.iid(), k -> new ArrayList<>());
            int act = 0;
            int bck = 0;
            long weightAct = 0;
            long weightBck = 0;
            for (Server s : b.servers()) {
                ServerStats ss = bs.serverIfPresent(s.name());
                if (ss == null) {
                    // it left while we walked an older snapshot: a row of zeros, no stats made (only the owner does)
                    ss = new ServerStats(s.name(), 0, now);
                }
                rows.add(serverRow(b, bs, s, ss, now));
                boolean operational = s.up() && s.effectiveAdmin() != Server.Admin.MAINT;
                if (operational) {
                    if (s.backup()) {
                        bck++;
                        weightBck += s.weight();
                    } else {
                        act++;
                        weightAct += s.weight();
                    }
                }
            }
            long weight = act > 0 ? weightAct : weightBck;
            // weights are the users' here (no slowstart): uweight is the same sum (HAProxy's tot_wact or tot_wbck)
            rows.add(backendRow(b, bs, act, bck, weight, weight, fullconn.getOrDefault(b.name(), 0L), now));
        }
        List<StatRow> out = new ArrayList<>();
        byIid.values().forEach(out::addAll);
        return out;
    }

    private static StatRow frontendRow(Frontend f, FrontendStats fs, long maxconn, long now) {
        Counters c = fs.counters();
        long rate = fs.rate(now);
        long rateMax = fs.rateMax(now);
        long stot = c.sum(Counters.STOT);
        return new StatRow.Builder(StatRow.Type.FRONTEND, fs.iid(), 0)
            .put("pxname", f.name()).put("svname", "FRONTEND")
            .put("scur", f.activeConnections()).put("smax", Math.max(c.max(Counters.SMAX), f.activeConnections()))
            .put("slim", maxconn).put("stot", stot)
            .put("bin", c.sum(Counters.BIN)).put("bout", c.sum(Counters.BOUT))
            .put("dreq", c.sum(Counters.DREQ)).put("ereq", c.sum(Counters.EREQ))
            .put("status", "OPEN").put("pid", 1).put("iid", fs.iid()).put("sid", 0).put("type", 0)
            .put("rate", rate).put("rate_max", rateMax)
            .put("mode", "tcp")
            .put("conn_rate", rate).put("conn_rate_max", rateMax).put("conn_tot", stot)
            .zeroRest().build();
    }

    private static StatRow serverRow(ProxyBackend b, BackendStats bs, Server s, ServerStats ss, long now) {
        Counters c = ss.counters();
        boolean checked = ss.checked();
        StatRow.Builder r = new StatRow.Builder(StatRow.Type.SERVER, bs.iid(), ss.sid())
            .put("pxname", b.name()).put("svname", s.name())
            .put("qcur", 0).put("qmax", 0) // servers have no queue of their own here: the backend's serves them
            .put("scur", s.active()).put("smax", Math.max(c.max(Counters.SMAX), s.active()))
            .put("stot", s.total()).put("lbtot", s.total())
            .put("bin", c.sum(Counters.BIN)).put("bout", c.sum(Counters.BOUT))
            .put("econ", c.sum(Counters.ECON)).put("eresp", c.sum(Counters.ERESP))
            .put("wretr", c.sum(Counters.WRETR)).put("wredis", c.sum(Counters.WREDIS))
            .put("status", serverStatus(s, checked))
            .put("weight", s.weight()).put("uweight", s.weight())
            .put("act", s.backup() ? 0 : 1).put("bck", s.backup() ? 1 : 0)
            .put("lastchg", ss.state().lastChangeSeconds(now))
            .put("pid", 1).put("iid", bs.iid()).put("sid", ss.sid()).put("type", 2)
            .put("rate", ss.rate(now)).put("rate_max", ss.rateMax(now))
            .putAll(sessionTimes(c, now))
            .put("addr", address(s)).put("mode", "tcp")
            .put("connect", c.sum(Counters.CONNECT))
            .put("used_conn_cur", s.active());
        if (s.maxconn() > 0) {
            r.put("slim", s.maxconn());
        } else {
            r.blank("slim");
        }
        if (checked) {
            String status = ss.checkStatus();
            r.put("chkfail", ss.checkFailures()).put("chkdown", ss.state().wentDown())
                .put("downtime", ss.state().downtimeSeconds(now))
                .put("check_status", status)
                .put("check_duration", Math.max(0, ss.checkDurationMs()))
                .put("last_chk", ss.lastCheck() == null ? "" : ss.lastCheck())
                .put("check_desc", ServerStats.checkDescription(status))
                .put("check_rise", ss.rise()).put("check_fall", ss.fall())
                .put("check_health", s.up() ? ss.rise() + ss.fall() - 1 : 0);
        } else {
            r.blank("chkfail").blank("chkdown").blank("downtime").blank("check_duration").blank("check_rise")
                .blank("check_fall").blank("check_health");
        }
        return r.zeroRest().build();
    }

    private static StatRow backendRow(ProxyBackend b, BackendStats bs, int act, int bck, long weight, long uweight,
                                      long fullconn, long now) {
        Counters c = bs.counters();
        return new StatRow.Builder(StatRow.Type.BACKEND, bs.iid(), 0)
            .put("pxname", b.name()).put("svname", "BACKEND")
            .put("qcur", bs.queued()).put("qmax", bs.queueMax())
            .put("scur", bs.sessions()).put("smax", bs.sessionsMax())
            .put("slim", (fullconn + 9) / 10) // HAProxy's default fullconn: a tenth of its frontends' maxconn
            .put("stot", c.sum(Counters.STOT)).put("lbtot", c.sum(Counters.STOT))
            .put("bin", c.sum(Counters.BIN)).put("bout", c.sum(Counters.BOUT))
            .put("econ", c.sum(Counters.ECON) + c.sum(Counters.NOSRV)).put("eresp", c.sum(Counters.ERESP))
            .put("wretr", c.sum(Counters.WRETR)).put("wredis", c.sum(Counters.WREDIS))
            .put("status", act + bck > 0 ? "UP" : "DOWN")
            .put("weight", weight).put("uweight", uweight).put("act", act).put("bck", bck)
            .put("chkdown", bs.state().wentDown()).put("lastchg", bs.state().lastChangeSeconds(now))
            .put("downtime", bs.state().downtimeSeconds(now))
            .put("pid", 1).put("iid", bs.iid()).put("sid", 0).put("type", 1)
            .put("rate", bs.rate(now)).put("rate_max", bs.rateMax(now))
            .putAll(sessionTimes(c, now))
            .put("mode", "tcp").put("algo", algo(b.config().balance()))
            .put("connect", c.sum(Counters.CONNECT))
            .zeroRest().build();
    }

    /** The abort counts and session times backends and servers share (ms averages over 1024 sessions). */
    private static java.util.function.Consumer<StatRow.Builder> sessionTimes(Counters c, long now) {
        return r -> r.put("cli_abrt", c.sum(Counters.CLI_ABRT)).put("srv_abrt", c.sum(Counters.SRV_ABRT))
            .put("lastsess", lastSession(c, now))
            .put("qtime", SlidingAverage.read(c, Counters.QTIME, Counters.TIME_SAMPLES))
            .put("ctime", SlidingAverage.read(c, Counters.CTIME, Counters.TIME_SAMPLES))
            .put("ttime", SlidingAverage.read(c, Counters.TTIME, Counters.TTIME_SAMPLES))
            .put("qtime_max", c.max(Counters.QTIME_MAX)).put("ctime_max", c.max(Counters.CTIME_MAX))
            .put("ttime_max", c.max(Counters.TTIME_MAX));
    }

    /** HAProxy's server status: MAINT, DRAIN, then UP/DOWN when checked, else "no check". */
    public static String serverStatus(Server s, boolean checked) {
        Server.Admin admin = s.effectiveAdmin();
        if (admin == Server.Admin.MAINT) {
            return "MAINT";
        }
        if (!s.up()) {
            return "DOWN";
        }
        if (admin == Server.Admin.DRAIN) {
            return "DRAIN";
        }
        return checked ? "UP" : "no check";
    }

    private static long lastSession(Counters c, long now) {
        long last = c.max(Counters.LAST_SESS);
        return last == 0 ? -1 : Math.max(0, (now - last) / FreqCounter.SECOND);
    }

    private static String algo(BalanceAlgorithm a) {
        return switch (a) {
            case ROUNDROBIN -> "roundrobin";
            case LEASTCONN -> "leastconn";
            case SOURCE -> "source";
        };
    }

    /** ip:port, IPv6 in brackets, as HAProxy prints a server's addr. */
    /**
     * A server's address as the stats show it. A server made at an IP literal prints that literal and its port: its
     * address object is made only when first connected to (issue 8), and looking at the stats must not make it.
     */
    static String address(Server s) {
        String literal = s.literal();
        if (literal == null) {
            return address(s.address());
        }
        return (literal.indexOf(':') >= 0 ? "[" + literal + "]" : literal) + ":" + s.port();
    }

    public static String address(InetSocketAddress a) {
        String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
        if (a.getAddress() instanceof Inet6Address) {
            host = "[" + host + "]";
        }
        return host + ":" + a.getPort();
    }

    // ---- show info ---------------------------------------------------------------------------------------------

    private static List<StatsSnapshot.InfoField> info(Proxy proxy, long now) {
        GlobalStats g = proxy.stats().global();
        long uptime = g.uptimeSeconds(now);
        long bytesOut = 0;
        for (Frontend f : proxy.frontends()) {
            bytesOut += f.stats().counters().sum(Counters.BOUT);
        }
        Map<String, String> v = new HashMap<>();
        v.put("Name", "Planetary");
        v.put("Version", proxy.version());
        v.put("Release_date", "");
        v.put("Nbthread", Integer.toString(proxy.threads()));
        v.put("Nbproc", "1");
        v.put("Process_num", "1");
        v.put("Pid", Long.toString(ProcessHandle.current().pid()));
        v.put("Uptime", String.format("%dd %dh%02dm%02ds", uptime / 86400, uptime / 3600 % 24, uptime / 60 % 60,
            uptime % 60));
        v.put("Uptime_sec", Long.toString(uptime));
        long fds = proxy.descriptorLimit();
        v.put("Ulimit-n", Long.toString(Math.max(0, fds)));
        v.put("Maxsock", Long.toString(Math.max(0, fds)));
        v.put("Maxconn", Integer.toString(proxy.globalMaxconn()));
        v.put("Hard_maxconn", Integer.toString(proxy.maxconn()));
        v.put("CurrConns", Integer.toString(proxy.activeConnections()));
        long cum = g.counters().sum(Counters.STOT);
        v.put("CumConns", Long.toString(cum));
        long rate = g.rate(now);
        long rateMax = g.rateMax(now);
        v.put("ConnRate", Long.toString(rate));
        v.put("MaxConnRate", Long.toString(rateMax));
        v.put("SessRate", Long.toString(rate));
        v.put("MaxSessRate", Long.toString(rateMax));
        v.put("Idle_pct", "100");
        v.put("node", proxy.nodeName());
        v.put("Stopping", proxy.stopping() ? "1" : "0");
        v.put("Jobs", Long.toString(proxy.activeConnections() + proxy.listenerCountCheap()));
        v.put("Listeners", Long.toString(proxy.listenerCountCheap()));
        v.put("TotalBytesOut", Long.toString(bytesOut));
        v.put("DroppedLogs", Long.toString(proxy.connectionLog() == null ? 0 : proxy.connectionLog().dropped()));
        v.put("Build info", proxy.version());
        v.put("Start_time_sec", Long.toString(g.startEpochSeconds()));
        v.put("Tainted", "0");
        List<StatsSnapshot.InfoField> out = new ArrayList<>(INFO_FIELDS.size());
        for (String[] f : INFO_FIELDS) {
            out.add(new StatsSnapshot.InfoField(Integer.parseInt(f[0]), f[1], f[2], v.getOrDefault(f[1], "0")));
        }
        return out;
    }

    private static List<String[]> infoFields() {
        List<String[]> out = new ArrayList<>();
        try (InputStream in = StatsCollector.class.getResourceAsStream("haproxy-2.6-info-fields.txt");
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    out.add(line.split("\t"));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return List.copyOf(out);
    }
}
