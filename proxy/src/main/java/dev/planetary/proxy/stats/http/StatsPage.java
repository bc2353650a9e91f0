package dev.planetary.proxy.stats.http;

import dev.planetary.core.config.StatsPageConfig;
import dev.planetary.proxy.stats.StatRow;
import dev.planetary.proxy.stats.StatsSnapshot;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The HTML stats page, laid out and coloured as HAProxy 2.6's: one table per proxy with its frontend row, every
 * server and its backend row, the server rows coloured by state with HAProxy's own classes and colours (UP green,
 * DOWN red, going up/down yellow, DRAIN and NOLB blue, MAINT brown, backups in blue shades), a box of process
 * figures, the legend, and a Genesis box (registry URLs, connected or stale, view version, VMs). The numbers are
 * the {@code show stat} row's, so the page, {@code ;csv} and {@code show stat} always agree. Self-contained: no
 * script, no external resource; the browser reloads it every {@code stats refresh} (HTTP {@code Refresh} header).
 */
final class StatsPage {

    private static final DateTimeFormatter NOW = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'",
        Locale.ROOT).withZone(ZoneOffset.UTC);

    private StatsPage() {
    }

    static String render(StatsPageConfig config, StatsSnapshot s, List<GenesisStatus> genesis, Instant now) {
        StringBuilder h = new StringBuilder(32 * 1024);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .append("<title>Statistics Report for Planetary</title><link rel=\"icon\" href=\"data:,\">")
            .append("<style>").append(CSS).append("</style></head><body>\n");
        h.append("<h1><span class=\"brand\">Planetary</span>");
        if (!config.hideVersion()) {
            h.append(" <span class=\"ver\">version ").append(esc(or(s.info("Version"), "?"))).append("</span>");
        }
        h.append("</h1>\n<h2>Statistics Report for pid ").append(esc(or(s.info("Pid"), "?"))).append("</h2>\n");
        h.append("<div class=\"top\">");
        process(s, config, now, h);
        genesis(genesis, h);
        if (config.showLegends()) {
            legend(h);
        }
        h.append("</div>\n");
        Map<String, List<StatRow>> byProxy = new LinkedHashMap<>();
        for (StatRow r : s.rows()) {
            byProxy.computeIfAbsent(r.proxyName(), k -> new ArrayList<>()).add(r);
        }
        if (byProxy.isEmpty()) {
            h.append("<p class=\"empty\">No frontend or backend is configured.</p>");
        }
        for (Map.Entry<String, List<StatRow>> e : byProxy.entrySet()) {
            table(e.getKey(), e.getValue(), h);
        }
        h.append("<p class=\"foot\">CSV: <a href=\"").append(esc(csvLink(config.uri())))
            .append("\">;csv</a>");
        if (config.prometheusPath() != null && !config.prometheusPath().isEmpty()) {
            h.append(" &middot; Prometheus: <a href=\"").append(esc(config.prometheusPath())).append("\">")
                .append(esc(config.prometheusPath())).append("</a>");
        }
        if (config.refreshMs() > 0) {
            h.append(" &middot; refreshed every ").append(human(config.refreshMs() / 1000));
        }
        h.append("</p>\n</body></html>\n");
        return h.toString();
    }

    private static String csvLink(String uri) {
        return uri + ";csv";
    }

    private static void process(StatsSnapshot s, StatsPageConfig config, Instant now, StringBuilder h) {
        h.append("<div class=\"box\" id=\"process\"><h3>Process</h3><table class=\"det\">");
        row(h, "pid", or(s.info("Pid"), ""));
        row(h, "uptime", or(s.info("Uptime"), ""));
        row(h, "threads", or(s.info("Nbthread"), ""));
        row(h, "system limits", "memmax = unlimited; ulimit-n = " + or(s.info("Ulimit-n"), "?"));
        row(h, "maxsock / maxconn", or(s.info("Maxsock"), "?") + " / " + or(s.info("Maxconn"), "?"));
        row(h, "current conns", or(s.info("CurrConns"), "0") + " (rate " + or(s.info("ConnRate"), "0")
            + "/s, max " + or(s.info("MaxConnRate"), "0") + "/s)");
        row(h, "total conns", or(s.info("CumConns"), "0"));
        row(h, "page made", NOW.format(now));
        h.append("</table></div>");
    }

    private static void genesis(List<GenesisStatus> genesis, StringBuilder h) {
        h.append("<div class=\"box\" id=\"genesis\"><h3>Genesis</h3>");
        if (genesis.isEmpty()) {
            h.append("<p class=\"none\">No <code>genesis</code> section: servers come from the configuration only.</p>");
        }
        for (GenesisStatus g : genesis) {
            String state = g.stale() ? "stale" : g.connected() ? "connected" : "connecting";
            h.append("<table class=\"det\" data-genesis=\"").append(esc(g.name())).append("\">");
            row(h, "registry", g.name());
            row(h, "url", String.join(", ", g.urls()));
            if (g.current() != null && g.urls().size() > 1) {
                row(h, "current url", g.current());
            }
            h.append("<tr><th>state</th><td><span class=\"pill ").append(state).append("\">").append(state)
                .append("</span></td></tr>");
            row(h, "view version", Long.toString(g.version()));
            row(h, "VMs", Integer.toString(g.vms()));
            row(h, "stale episodes", Long.toString(g.staleEpisodes()));
            h.append("</table>");
        }
        h.append("</div>");
    }

    private static void legend(StringBuilder h) {
        h.append("<div class=\"box\" id=\"legend\"><h3>Legend</h3><table class=\"lgd\">");
        String[][] items = {{"active_up", "active UP"}, {"backup_up", "backup UP"},
            {"active_going_down", "active UP, going down"}, {"backup_going_down", "backup UP, going down"},
            {"active_going_up", "active DOWN, going up"}, {"backup_going_up", "backup DOWN, going up"},
            {"active_down", "active or backup DOWN"}, {"active_no_check", "not checked"},
            {"active_draining", "active or backup DRAIN"}, {"maintain", "active or backup MAINT"}};
        for (int i = 0; i < items.length; i += 2) {
            h.append("<tr>");
            for (int j = i; j < i + 2 && j < items.length; j++) {
                h.append("<td class=\"").append(items[j][0]).append("\">&nbsp;&nbsp;&nbsp;&nbsp;</td><td class=\"noborder\">")
                    .append(items[j][1]).append("</td>");
            }
            h.append("</tr>");
        }
        h.append("</table><p class=\"note\">Note: \"DRAIN\" = no new connections (weight 0 or drained);"
            + " \"MAINT\" = in maintenance (disabled, or set by the runtime API).</p></div>");
    }

    private static void row(StringBuilder h, String name, String value) {
        h.append("<tr><th>").append(esc(name)).append("</th><td>").append(esc(value)).append("</td></tr>");
    }

    /** HAProxy's column groups and the CSV column of each cell. */
    private static final String[][] GROUPS = {
        {"Queue", "qcur:Cur", "qmax:Max", "qlimit:Limit"},
        {"Session rate", "rate:Cur", "rate_max:Max", "rate_lim:Limit"},
        {"Sessions", "scur:Cur", "smax:Max", "slim:Limit", "stot:Total", "lbtot:LbTot", "lastsess:Last"},
        {"Bytes", "bin:In", "bout:Out"},
        {"Denied", "dreq:Req", "dresp:Resp"},
        {"Errors", "ereq:Req", "econ:Conn", "eresp:Resp"},
        {"Warnings", "wretr:Retr", "wredis:Redis"},
        {"Server", "status:Status", "check_status:LastChk", "weight:Wght", "act:Act", "bck:Bck", "chkfail:Chk",
            "chkdown:Dwn", "downtime:Dwntme", "ctime:Ctime", "ttime:Ttime"},
    };

    private static void table(String proxy, List<StatRow> rows, StringBuilder h) {
        h.append("<table class=\"tbl\" id=\"px-").append(esc(proxy)).append("\">\n<tr class=\"titre\">")
            .append("<th class=\"pxname\" colspan=\"2\"><a name=\"").append(esc(proxy)).append("\" class=\"px\" href=\"#")
            .append(esc(proxy)).append("\">").append(esc(proxy)).append("</a></th>");
        for (String[] g : GROUPS) {
            h.append("<th colspan=\"").append(g.length - 1).append("\">").append(g[0]).append("</th>");
        }
        h.append("</tr>\n<tr class=\"titre\"><th colspan=\"2\"></th>");
        for (String[] g : GROUPS) {
            for (int i = 1; i < g.length; i++) {
                h.append("<th>").append(g[i].substring(g[i].indexOf(':') + 1)).append("</th>");
            }
        }
        h.append("</tr>\n");
        for (StatRow r : rows) {
            String cls = rowClass(r);
            h.append("<tr class=\"").append(cls).append("\" data-type=\"").append(r.type().name().toLowerCase(Locale.ROOT))
                .append("\" data-name=\"").append(esc(r.serverName())).append("\" data-state=\"")
                .append(esc(or(r.get("status"), ""))).append("\"><td class=\"ac\" colspan=\"2\">")
                .append(r.type() == StatRow.Type.SERVER ? esc(r.serverName()) : "<b>" + esc(r.serverName()) + "</b>");
            if (r.type() == StatRow.Type.SERVER && r.get("addr") != null) {
                h.append(" <span class=\"addr\">").append(esc(r.get("addr"))).append("</span>");
            }
            h.append("</td>");
            for (String[] g : GROUPS) {
                for (int i = 1; i < g.length; i++) {
                    String col = g[i].substring(0, g[i].indexOf(':'));
                    h.append("<td>").append(cell(r, col)).append("</td>");
                }
            }
            h.append("</tr>\n");
        }
        h.append("</table>\n");
    }

    /** HAProxy's row classes: frontend, backend, and a server's by its state and active/backup role. */
    static String rowClass(StatRow r) {
        if (r.type() == StatRow.Type.FRONTEND) {
            return "frontend";
        }
        if (r.type() == StatRow.Type.BACKEND) {
            return "backend";
        }
        String st = or(r.get("status"), "");
        String role = "1".equals(r.get("bck")) ? "backup_" : "active_";
        if (st.startsWith("MAINT")) {
            return "maintain";
        }
        if (st.startsWith("DRAIN")) {
            return role + "draining";
        }
        if (st.startsWith("NOLB")) {
            return role + "nolb";
        }
        if (st.equals("no check")) {
            return role + "no_check";
        }
        if (st.startsWith("DOWN ")) {
            return role + "going_up";
        }
        if (st.startsWith("UP ")) {
            return role + "going_down";
        }
        if (st.startsWith("DOWN")) {
            return role + "down";
        }
        return role + "up";
    }

    private static String cell(StatRow r, String col) {
        String v = r.get(col);
        if (v == null) {
            return "";
        }
        return switch (col) {
            case "status" -> {
                String lastchg = r.get("lastchg");
                yield (lastchg == null ? "" : human(Long.parseLong(lastchg)) + " ") + esc(v);
            }
            case "check_status" -> {
                String d = r.get("check_duration");
                yield esc(v) + (d == null || d.isEmpty() ? "" : " in " + esc(d) + "ms");
            }
            case "lastsess" -> "-1".equals(v) ? "" : human(Long.parseLong(v));
            case "downtime" -> human(Long.parseLong(v));
            case "ctime", "ttime" -> esc(v) + "ms";
            case "bin", "bout", "stot", "lbtot" -> grouped(v);
            default -> esc(v);
        };
    }

    /** 1234567 as "1,234,567". */
    private static String grouped(String v) {
        try {
            return String.format(Locale.ROOT, "%,d", Long.parseLong(v));
        } catch (NumberFormatException e) {
            return esc(v);
        }
    }

    /** HAProxy's human_time(): "5s", "1m5s", "2h3m", "3d4h". */
    static String human(long seconds) {
        if (seconds < 0) {
            return "";
        }
        long d = seconds / 86400;
        long hr = seconds / 3600 % 24;
        long m = seconds / 60 % 60;
        long sec = seconds % 60;
        if (d > 0) {
            return d + "d" + hr + "h";
        }
        if (hr > 0) {
            return hr + "h" + m + "m";
        }
        if (m > 0) {
            return m + "m" + sec + "s";
        }
        return sec + "s";
    }

    private static String or(String v, String dflt) {
        return v == null ? dflt : v;
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** HAProxy 2.6's stats page colours and classes (light and dark), in a tidier frame. */
    private static final String CSS = """
        body{font-family:arial,helvetica,sans-serif;font-size:12px;color:#000;background:#fff;margin:12px 16px}
        h1{font-size:x-large;margin:0 0 .2em}h1 .brand{color:#6020a0}h1 .ver{font-size:13px;color:#666;font-weight:normal}
        h2{font-family:helvetica,arial;font-size:large;font-weight:bold;font-style:italic;color:#6020a0;margin:0 0 .6em}
        h3{font-family:helvetica,arial;font-size:14px;font-weight:bold;color:#b00040;background:#e8e8d0;margin:0 0 4px;padding:2px 6px}
        .top{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:14px}
        .box{border:1px solid #bbb;padding:0 0 6px;min-width:260px}
        .box table,.box p{margin:0 6px}
        .pill{padding:0 6px;border-radius:8px;font-weight:bold}
        .pill.connected{background:#c0ffc0}.pill.stale{background:#ff9090}.pill.connecting{background:#ffd020}
        .titre{background:#20D0D0;color:#000;font-weight:bold;text-align:center}
        .frontend{background:#e8e8d0}.backend{background:#e8e8d0}
        .active_down{background:#ff9090}.active_going_up{background:#ffd020}.active_going_down{background:#ffffa0}
        .active_up{background:#c0ffc0}.active_nolb{background:#20a0ff}.active_draining{background:#20a0FF}
        .active_no_check{background:#e0e0e0}.backup_down{background:#ff9090}.backup_going_up{background:#ff80ff}
        .backup_going_down{background:#c060ff}.backup_up{background:#b0d0ff}.backup_nolb{background:#90b0e0}
        .backup_draining{background:#cc9900}.backup_no_check{background:#e0e0e0}.maintain{background:#c07820}
        a.px:link,a.px:visited{color:#ffff40;text-decoration:none}a.px:hover{color:#fff}
        table.tbl{border-collapse:collapse;border-style:none;margin-bottom:16px}
        table.tbl td{text-align:right;border:1px solid gray;padding:2px 4px;white-space:nowrap;font-size:11px}
        table.tbl td.ac{text-align:left}
        table.tbl th{border:1px solid gray;font-size:11px;padding:2px 3px}
        table.tbl th.pxname{background:#b00040;color:#ffff40;font-weight:bold;white-space:nowrap;text-align:left;font-size:13px}
        .addr{color:#555;font-size:10px}
        table.det th{text-align:left;padding:1px 8px 1px 0;font-size:11px}
        table.det td{text-align:left;padding:1px 0;font-size:11px;white-space:nowrap}
        table.lgd{border-collapse:collapse}table.lgd td{border:1px solid gray;padding:2px}
        table.lgd td.noborder{border-style:none;padding:2px 8px 2px 4px;white-space:nowrap}
        .note,.none,.foot{color:#555;font-size:11px}
        @media (prefers-color-scheme:dark){
         body{color:#e8e6e3;background:#131516}h2,h1 .brand{color:#a265e0}h3{color:#ff5190;background:#3e3e1f}a{color:#3391ff}
         .titre{background:#1aa6a6;color:#e8e6e3}.frontend,.backend{background:#2f3437}
         .active_down,.backup_down{background:#760000}.active_going_up{background:#b99200}.active_going_down{background:#6c6c00}
         .active_up{background:#165900}.active_nolb,.active_draining{background:#006ab9}.active_no_check,.backup_no_check{background:#2a2d2f}
         .backup_going_up{background:#7f007f}.backup_going_down{background:#580092}.backup_up{background:#2e3234}
         .backup_nolb{background:#1e3c6a}.backup_draining{background:#a37a00}.maintain{background:#9a601a}
         table.tbl th.pxname{background:#8d0033;color:#ffff46}.addr,.note,.none,.foot{color:#aaa}
         .pill.connected{background:#165900}.pill.stale{background:#760000}.pill.connecting{background:#b99200}}
        """;
}
