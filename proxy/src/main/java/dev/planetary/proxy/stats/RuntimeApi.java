package dev.planetary.proxy.stats;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.Durations;
import dev.planetary.core.config.ServerConfig;
import dev.planetary.core.config.StatsSocketConfig.Level;
import dev.planetary.proxy.Discovery;
import dev.planetary.proxy.Frontend;
import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.ProxyBackend;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * HAProxy 2.6's runtime API commands, as the stats socket runs them: read commands for every level, changes for
 * {@code admin} only (as HAProxy 2.6, whose {@code operator} level may not change servers either). Each change is a
 * call on the backends' runtime API ({@link ProxyBackend}: a message to their one owner), so nothing here touches a
 * live connection unless the command says so ({@code shutdown sessions}). Answers use HAProxy's words; a bad
 * command gets a message, never a stack trace.
 */
public final class RuntimeApi {

    /** One line of the help: the command as typed, what it does, and the level it needs. */
    private record Help(String usage, String what, Level level) {
    }

    private static final List<Help> HELP = List.of(
        new Help("add server <bk>/<srv>", "create a new server", Level.ADMIN),
        new Help("del server <bk>/<srv>", "remove a server (in maintenance, without connections)", Level.ADMIN),
        new Help("disable server (DEPRECATED)", "disable a server for maintenance (use 'set server' instead)",
            Level.ADMIN),
        new Help("enable server  (DEPRECATED)", "enable a disabled server (use 'set server' instead)", Level.ADMIN),
        new Help("get weight <bk>/<srv>", "report a server's current weight", Level.USER),
        new Help("operator", "lower the level of the current CLI session to operator", Level.USER),
        new Help("set maxconn frontend <frontend> <value>", "change a frontend's maxconn setting", Level.ADMIN),
        new Help("set maxconn global <value>", "change the per-process maxconn setting", Level.ADMIN),
        new Help("set maxconn server <bk>/<srv>", "change a server's maxconn setting", Level.ADMIN),
        new Help("set server <bk>/<srv> [opts]", "change a server's state, weight or address", Level.ADMIN),
        new Help("set weight <bk>/<srv>  (DEPRECATED)", "change a server's weight (use 'set server' instead)",
            Level.ADMIN),
        new Help("show backend", "list backends in the current running config", Level.USER),
        new Help("show cli level", "display the level of the current CLI session", Level.USER),
        new Help("show genesis", "registry URLs, connected or stale, view version, VMs known, URL followed "
            + "(Planetary)", Level.USER),
        new Help("show info [typed]", "report information about the running process", Level.USER),
        new Help("show servers state [<backend>]", "dump volatile server information (all or for a single backend)",
            Level.USER),
        new Help("show sess", "report the list of current sessions", Level.USER),
        new Help("show stat [typed] [<px> <type> <sid>]", "report counters for each proxy and server", Level.USER),
        new Help("shutdown sessions server <bk>/<srv>", "kill sessions on a server", Level.ADMIN),
        new Help("user", "lower the level of the current CLI session to user", Level.USER),
        new Help("help [<command>]", "list matching or all commands", Level.USER),
        new Help("prompt", "toggle interactive mode with prompt", Level.USER),
        new Help("quit", "disconnect", Level.USER));

    /** The state of one CLI connection. */
    public static final class Session {
        Level level;
        boolean prompt;
        boolean quit;

        public Session(Level level) {
            this.level = level;
        }

        public boolean prompt() { return prompt; }
        public boolean quit() { return quit; }
        public Level level() { return level; }
    }

    private final Proxy proxy;

    public RuntimeApi(Proxy proxy) {
        this.proxy = proxy;
    }

    /** Runs one line: its {@code ;}-separated commands in order; the answer of each ends with an empty line. */
    public String runLine(String line, Session s) {
        StringBuilder out = new StringBuilder();
        for (String cmd : splitCommands(line)) {
            if (s.quit) {
                break;
            }
            String answer;
            try {
                answer = run(cmd.trim(), s);
            } catch (IllegalArgumentException | IllegalStateException e) {
                answer = e.getMessage() == null ? "Error." : e.getMessage();
            } catch (RuntimeException e) {
                answer = "Internal error: " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage());
            }
            if (s.quit) {
                break;
            }
            out.append(answer);
            if (!answer.isEmpty() && !answer.endsWith("\n")) {
                out.append('\n');
            }
            out.append('\n');
        }
        return out.toString();
    }

    /** HAProxy splits on ';' outside of backslash escapes. */
    static List<String> splitCommands(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\' && i + 1 < line.length()) {
                cur.append(line.charAt(++i));
            } else if (c == ';') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        out.add(cur.toString());
        return out;
    }

    private String run(String cmd, Session s) {
        String[] w = cmd.isEmpty() ? new String[0] : cmd.split("[ \t]+");
        if (w.length == 0) {
            return "";
        }
        String a = w[0];
        String b = w.length > 1 ? w[1] : "";
        switch (a) {
            case "help":
                return help(s.level, "The following commands are valid at this level:\n");
            case "prompt":
                s.prompt = !s.prompt;
                return "";
            case "quit":
                s.quit = true;
                return "";
            case "user":
                s.level = Level.USER;
                return "";
            case "operator":
                if (s.level == Level.ADMIN) {
                    s.level = Level.OPERATOR;
                }
                return "";
            case "show":
                return show(w, b, s);
            case "get":
                if (b.equals("weight")) {
                    Target t = target(w, 2);
                    return t.server.weight() + " (initial " + t.initialWeight() + ")\n";
                }
                break;
            case "set":
                if (b.equals("server") || b.equals("weight") || b.equals("maxconn")) {
                    needAdmin(s);
                    return switch (b) {
                        case "server" -> setServer(w);
                        case "weight" -> setWeight(target(w, 2), w.length > 3 ? w[3] : "");
                        default -> setMaxconn(w);
                    };
                }
                break;
            case "enable":
            case "disable":
                if (b.equals("server")) {
                    needAdmin(s);
                    Target t = target(w, 2);
                    if (a.equals("enable")) {
                        t.backend.ready(t.server.name());
                    } else {
                        t.backend.maint(t.server.name());
                    }
                    return "";
                }
                break;
            case "add":
                if (b.equals("server")) {
                    needAdmin(s);
                    return addServer(w);
                }
                break;
            case "del":
                if (b.equals("server")) {
                    needAdmin(s);
                    return delServer(w);
                }
                break;
            case "shutdown":
                if (b.equals("sessions") && w.length > 2 && w[2].equals("server")) {
                    needAdmin(s);
                    Target t = target(w, 3);
                    proxy.shutdownSessions(t.server);
                    return "";
                }
                break;
            default:
                break;
        }
        return unknown(a, s.level);
    }

    private String show(String[] w, String b, Session s) {
        switch (b) {
            case "info": {
                StatsSnapshot snap = StatsCollector.collect(proxy, ProxyStats.now());
                return has(w, "typed") ? CsvFormat.infoTyped(snap) : CsvFormat.info(snap);
            }
            case "stat":
                return showStat(w);
            case "backend": {
                StringBuilder sb = new StringBuilder("# name\n");
                for (ProxyBackend pb : proxy.backends()) {
                    sb.append(pb.name()).append('\n');
                }
                return sb.toString();
            }
            case "servers":
                if (w.length > 2 && w[2].equals("state")) {
                    return serversState(w.length > 3 ? w[3] : null);
                }
                break;
            case "sess": {
                StringBuilder sb = new StringBuilder();
                for (String line : proxy.describeSessions()) {
                    sb.append(line).append('\n');
                }
                return sb.toString();
            }
            case "cli":
                if (w.length > 2 && w[2].equals("level")) {
                    return s.level.name().toLowerCase(Locale.ROOT) + "\n";
                }
                break;
            case "genesis":
                return genesis();
            default:
                break;
        }
        return unknown("show", Level.USER);
    }

    private String showStat(String[] w) {
        boolean typed = false;
        List<String> args = new ArrayList<>();
        for (int i = 2; i < w.length; i++) {
            switch (w[i]) {
                case "typed" -> typed = true;
                case "desc", "json", "no-maint", "up" -> throw new IllegalArgumentException(
                    "'show stat " + w[i] + "' is not supported here (supported: typed, <px> <type> <sid>)");
                default -> args.add(w[i]);
            }
        }
        String px = null;
        int types = -1;
        int sid = -1;
        if (!args.isEmpty()) {
            if (args.size() != 3 && args.size() != 1) {
                return "Require 'proxy_id', 'type' and 'server_id' (use -1 for all).\n";
            }
            px = args.get(0).equals("-1") ? null : args.get(0);
            if (px != null && !proxyExists(px)) {
                return "No such proxy.\n";
            }
            if (args.size() == 3) {
                types = intArg(args.get(1), "type");
                sid = intArg(args.get(2), "server_id");
            }
        }
        StatsSnapshot snap = StatsCollector.collect(proxy, ProxyStats.now());
        StatFilter f = new StatFilter(px, types, sid);
        return typed ? CsvFormat.typed(snap, f) : CsvFormat.csv(snap, f);
    }

    private boolean proxyExists(String px) {
        for (FrontendStats f : proxy.stats().frontends()) {
            if (f.name().equals(px) || Integer.toString(f.iid()).equals(px)) {
                return true;
            }
        }
        for (BackendStats b : proxy.stats().backends()) {
            if (b.name().equals(px) || Integer.toString(b.iid()).equals(px)) {
                return true;
            }
        }
        return false;
    }

    /** HAProxy's {@code show servers state}, format version 1. */
    private String serversState(String only) {
        StringBuilder sb = new StringBuilder("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state"
            + " srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result"
            + " srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port"
            + " srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n");
        if (only != null && proxy.backend(only) == null) {
            return "Can't find backend.\n";
        }
        long now = ProxyStats.now();
        for (ProxyBackend pb : proxy.backends()) {
            if (only != null && !pb.name().equals(only)) {
                continue;
            }
            BackendStats bs = pb.stats();
            for (Server s : pb.servers()) {
                ServerStats ss = bs.serverIfPresent(s.name());
                if (ss == null) {
                    // it left while we walked an older snapshot: a row of zeros, no stats made (only the owner does)
                    ss = new ServerStats(s.name(), 0, now);
                }
                // srv_op_state: 0 stopped, 2 running; srv_admin_state: 1 forced maint, 8 forced drain (HAProxy flags)
                int op = s.up() ? 2 : 0;
                int admin = switch (s.effectiveAdmin()) {
                    case MAINT -> 1;
                    case DRAIN -> 8;
                    case READY -> 0;
                };
                boolean checked = ss.checked();
                // srv_check_status: HAProxy's HCHK_STATUS_* (1 none, 8 L4CON, 6 L4OK ...), result 2 passed 1 failed
                int checkStatus = !checked ? 1 : switch (String.valueOf(ss.checkStatus())) {
                    case "L4OK" -> 6;
                    case "L4TOUT" -> 7;
                    case "L4CON" -> 8;
                    default -> 0;
                };
                int checkResult = !checked ? 0 : s.up() ? 2 : 1;
                int health = checked && s.up() ? ss.rise() + ss.fall() - 1 : 0;
                int checkState = checked ? 6 : 0;
                // a server made at an IP literal prints it: its address object is made on first connect only
                String addr = s.literal();
                if (addr == null) {
                    InetSocketAddress a = s.address();
                    addr = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
                }
                sb.append(bs.iid()).append(' ').append(pb.name()).append(' ').append(ss.sid()).append(' ')
                    .append(s.name()).append(' ')
                    .append(addr).append(' ')
                    .append(op).append(' ').append(admin).append(' ').append(s.weight()).append(' ')
                    .append(pb.initialWeight(s.name())).append(' ').append(ss.state().lastChangeSeconds(now))
                    .append(' ').append(checkStatus).append(' ').append(checkResult).append(' ').append(health)
                    .append(' ').append(checkState).append(" 0 0 0 - ").append(s.port()).append(" - 0 0 - - 0\n");
            }
        }
        return sb.toString();
    }

    private String genesis() {
        List<Discovery> ds = proxy.discoveries();
        if (ds.isEmpty()) {
            return "# no genesis section is followed\n";
        }
        StringBuilder sb = new StringBuilder("# name url state version vms views_applied stale_episodes"
            + " current_url\n");
        for (Discovery d : ds) {
            sb.append(d.name()).append(' ').append(String.join(",", d.config().urls().stream()
                    .map(Object::toString).toList())).append(' ')
                .append(d.version() < 0 || d.viewsApplied() == 0 ? "connecting" : d.stale() ? "stale" : "connected")
                .append(' ').append(d.version()).append(' ').append(d.vmCount()).append(' ')
                .append(d.viewsApplied()).append(' ').append(d.staleEpisodes()).append(' ')
                .append(d.watch() == null ? "-" : d.watch().currentUrl().toString()).append('\n');
        }
        return sb.toString();
    }

    // ---- changes -----------------------------------------------------------------------------------------------

    private String setServer(String[] w) {
        if (w.length < 4) {
            return "usage: set server <backend>/<server> addr | state | weight\n";
        }
        Target t = target(w, 2);
        String what = w[3];
        String v = w.length > 4 ? w[4] : "";
        switch (what) {
            case "state" -> {
                switch (v) {
                    case "ready" -> t.backend.ready(t.server.name());
                    case "drain" -> t.backend.drain(t.server.name());
                    case "maint" -> t.backend.maint(t.server.name());
                    default -> {
                        return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n";
                    }
                }
                return "";
            }
            case "weight" -> {
                return setWeight(t, v);
            }
            case "addr" -> {
                return setAddr(t, w);
            }
            case "health", "agent", "agent-addr", "agent-port", "agent-send", "check-addr", "check-port", "fqdn",
                 "ssl" -> {
                return "'set server <srv> " + what + "' is not supported by Planetary (supported: addr, state,"
                    + " weight).\n";
            }
            default -> {
                return "usage: set server <backend>/<server> addr | state | weight\n";
            }
        }
    }

    private String setWeight(Target t, String v) {
        if (v.isEmpty() || !v.matches("\\d+%?")) {
            return "Empty weight string empty or preceded by garbage\n";
        }
        int weight;
        if (v.endsWith("%")) {
            long pct = Long.parseLong(v.substring(0, v.length() - 1));
            weight = (int) Math.min(256, (t.initialWeight() * pct + 99) / 100);
            if (pct > 0 && weight == 0) {
                weight = 1;
            }
        } else {
            long abs = v.length() > 4 ? 1000 : Long.parseLong(v);
            if (abs > 256) {
                return "Absolute weight can only be between 0 and 256 inclusive.\n";
            }
            weight = (int) abs;
        }
        t.backend.setWeight(t.server.name(), weight);
        return "";
    }

    private String setAddr(Target t, String[] w) {
        if (w.length < 5) {
            return "set server <b>/<s> addr requires an address and optionally a port.\n";
        }
        String ip = w[4];
        InetAddress addr = literal(ip);
        if (addr == null) {
            return "Invalid addr '" + ip + "' by 'stats socket command'\n";
        }
        InetSocketAddress old = t.server.address();
        int port = old.getPort();
        if (w.length > 5) {
            if (!w[5].equals("port") || w.length < 7) {
                return "set server <b>/<s> addr: expects 'port <port>' after the address.\n";
            }
            port = portArg(w[6]);
        }
        String oldIp = old.getAddress() != null ? old.getAddress().getHostAddress() : old.getHostString();
        String newIp = addr.getHostAddress();
        t.backend.setAddress(t.server.name(), newIp, port);
        StringBuilder sb = new StringBuilder();
        if (oldIp.equals(newIp)) {
            sb.append("no need to change the addr");
        } else {
            sb.append("IP changed from '").append(oldIp).append("' to '").append(newIp).append("'");
        }
        if (port != old.getPort()) {
            sb.append(", port changed from '").append(old.getPort()).append("' to '").append(port).append("'");
        }
        return sb.append(" by 'stats socket command'\n").toString();
    }

    private String setMaxconn(String[] w) {
        String kind = w.length > 2 ? w[2] : "";
        switch (kind) {
            case "server" -> {
                Target t = target(w, 3);
                if (w.length < 5) {
                    return "Require <maxconn>.\n";
                }
                t.backend.setMaxconn(t.server.name(), intArg(w[4], "maxconn"));
                return "";
            }
            case "frontend" -> {
                if (w.length < 4) {
                    return "A frontend name is expected.\n";
                }
                Frontend f = proxy.frontend(w[3]);
                if (f == null) {
                    return "No such frontend.\n";
                }
                if (w.length < 5) {
                    return "Integer value expected.\n";
                }
                f.maxconn(intArg(w[4], "maxconn"));
                return "";
            }
            case "global" -> {
                if (w.length < 4) {
                    return "Expects an integer value.\n";
                }
                int v = intArg(w[3], "maxconn");
                proxy.globalMaxconn(Math.max(1, Math.min(v, proxy.maxconn()))); // HAProxy caps at Hard_maxconn
                return "";
            }
            default -> {
                return "'set maxconn' only supports 'frontend', 'server', and 'global'.\n";
            }
        }
    }

    /** {@code add server B/S ADDR:PORT [weight N] [maxconn N] [check] [inter T] [rise N] [fall N] [backup]}. */
    private String addServer(String[] w) {
        if (w.length < 4) {
            return "'add server' expects <bk>/<srv> <addr>:<port> [options].\n";
        }
        String[] bs = splitTarget(w[2]);
        ProxyBackend pb = proxy.backend(bs[0]);
        if (pb == null) {
            return "No such backend.\n";
        }
        if (pb.backend().server(bs[1]).isPresent()) {
            return "Already exists a server with the same name in backend.\n";
        }
        if (!bs[1].matches("[A-Za-z0-9_.:-]+")) {
            return "Invalid server name '" + bs[1] + "'.\n";
        }
        String hp = w[3];
        int colon = hp.lastIndexOf(':');
        if (colon <= 0) {
            return "Missing port in '" + hp + "'.\n";
        }
        String host = hp.substring(0, colon).replaceAll("^\\[|\\]$", "");
        InetAddress addr = literal(host);
        if (addr == null) {
            return "Invalid address '" + host + "' (an IP address is expected).\n";
        }
        int port = portArg(hp.substring(colon + 1));
        boolean check = false;
        boolean backup = false;
        long inter = ServerConfig.DEFAULT_INTER_MS;
        int rise = ServerConfig.DEFAULT_RISE;
        int fall = ServerConfig.DEFAULT_FALL;
        int weight = ServerConfig.DEFAULT_WEIGHT;
        int maxconn = 0;
        for (int i = 4; i < w.length; i++) {
            switch (w[i]) {
                case "check" -> check = true;
                case "backup" -> backup = true;
                case "disabled", "enabled" -> { } // dynamic servers start in maintenance anyway, as HAProxy's
                case "weight" -> weight = boundedArg(w, ++i, "weight", 0, 256);
                case "maxconn" -> maxconn = boundedArg(w, ++i, "maxconn", 0, Integer.MAX_VALUE);
                case "rise" -> rise = boundedArg(w, ++i, "rise", 1, 1000);
                case "fall" -> fall = boundedArg(w, ++i, "fall", 1, 1000);
                case "inter" -> {
                    if (++i >= w.length) {
                        return "'inter' expects a time.\n";
                    }
                    try {
                        inter = Durations.parseMillis(w[i]);
                    } catch (Durations.InvalidDurationException e) {
                        return "'inter' expects a time, got '" + w[i] + "': " + e.reason() + ".\n";
                    }
                }
                default -> {
                    return "'" + w[i] + "' is not a supported server option (supported: weight, maxconn, check,"
                        + " inter, rise, fall, backup).\n";
                }
            }
        }
        // HAProxy 2.6: a dynamic server starts in maintenance; 'enable server' or 'set server ... state ready'
        pb.addServer(new ServerConfig(bs[1], addr.getHostAddress(), port, check, inter, rise, fall, weight, maxconn,
            backup, true, null));
        return "New server registered.\n";
    }

    private String delServer(String[] w) {
        Target t = target(w, 2);
        if (t.server.admin() != Server.Admin.MAINT) {
            return "Only servers in maintenance mode can be deleted.\n";
        }
        if (t.server.active() > 0) {
            return "Server still has connections attached to it, cannot remove it.\n";
        }
        t.backend.removeServer(t.server.name());
        return "Server deleted.\n";
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private record Target(ProxyBackend backend, Server server) {
        int initialWeight() {
            return backend.initialWeight(server.name());
        }
    }

    private Target target(String[] w, int i) {
        if (i >= w.length) {
            throw new IllegalArgumentException("Require 'backend/server'.");
        }
        String[] bs = splitTarget(w[i]);
        ProxyBackend pb = proxy.backend(bs[0]);
        if (pb == null) {
            throw new IllegalArgumentException("No such backend.");
        }
        Server s = pb.backend().server(bs[1]).orElse(null);
        if (s == null) {
            throw new IllegalArgumentException("No such server.");
        }
        return new Target(pb, s);
    }

    private static String[] splitTarget(String t) {
        int slash = t.indexOf('/');
        if (slash <= 0 || slash == t.length() - 1) {
            throw new IllegalArgumentException("Require 'backend/server'.");
        }
        return new String[] {t.substring(0, slash), t.substring(slash + 1)};
    }

    private static void needAdmin(Session s) {
        if (s.level != Level.ADMIN) {
            throw new IllegalStateException("Permission denied");
        }
    }

    private static boolean has(String[] w, String word) {
        for (String x : w) {
            if (x.equals(word)) {
                return true;
            }
        }
        return false;
    }

    private static int intArg(String v, String what) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + what + "' expects an integer, got '" + v + "'.");
        }
    }

    private static int boundedArg(String[] w, int i, String what, int min, int max) {
        if (i >= w.length) {
            throw new IllegalArgumentException("'" + what + "' expects a value.");
        }
        int v = intArg(w[i], what);
        if (v < min || v > max) {
            throw new IllegalArgumentException("'" + what + "' must be between " + min + " and " + max + ".");
        }
        return v;
    }

    private static int portArg(String v) {
        int p = intArg(v, "port");
        if (p < 1 || p > 65535) {
            throw new IllegalArgumentException("Invalid port '" + v + "' (1-65535).");
        }
        return p;
    }

    /** An IP literal, never a name look-up (a runtime command must not block on DNS). */
    private static InetAddress literal(String ip) {
        if (!ip.matches("[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")) {
            return null;
        }
        try {
            return InetAddress.getByName(ip);
        } catch (java.io.IOException e) {
            return null;
        }
    }

    private static String help(Level level, String title) {
        StringBuilder sb = new StringBuilder(title);
        for (Help h : HELP) {
            if (level == Level.ADMIN || h.level != Level.ADMIN) {
                sb.append(String.format(Locale.ROOT, "  %-39s : %s%n", h.usage, h.what));
            }
        }
        return sb.toString();
    }

    private static String unknown(String first, Level level) {
        StringBuilder sb = new StringBuilder();
        for (Help h : HELP) {
            if ((level == Level.ADMIN || h.level != Level.ADMIN) && h.usage.startsWith(first + " ")) {
                sb.append(String.format(Locale.ROOT, "  %-39s : %s%n", h.usage, h.what));
            }
        }
        if (sb.length() == 0) {
            return help(level, "Unknown command, but maybe one of the following ones is a better match:\n");
        }
        return "Unknown command, but maybe one of the following ones is a better match:\n" + sb;
    }
}
