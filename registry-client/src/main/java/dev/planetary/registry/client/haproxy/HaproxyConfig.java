package dev.planetary.registry.client.haproxy;

import dev.planetary.registry.client.PortPlanInfo;
import java.nio.file.Path;
import java.util.Map;

/**
 * The haproxy.cfg that companion mode needs for one port plan: a frontend per mapped backend (a kind's whole range,
 * its first port balanced, every other port pinned to its VM through the pinned map, or closed), the backends with
 * their balance algorithm and no servers (the sync adds them), a backend that forwards pinned connections, a stats
 * page on loopback and the admin socket the sync talks to. Pure text: no I/O.
 */
public final class HaproxyConfig {

    /** The ws entrance of the original swarm. */
    public static final int DEFAULT_WS_PORT = 32000;
    /** Loopback, as the seed config: serving the swarm's ports to a network is a deliberate choice. */
    public static final String DEFAULT_BIND = "127.0.0.1";
    /** HAProxy's usual stats port, on loopback: the page has no password, so it never leaves the machine by default. */
    public static final String DEFAULT_STATS = "127.0.0.1:8404";
    /** The seed config's maxconn: 20,000 connections at two descriptors each need LimitNOFILE above 40,000. */
    public static final int DEFAULT_MAXCONN = 20000;
    /** The kind whose clients must come back to the same VM (sshfs sessions): source hashing, consistent. */
    static final String SOURCE_HASHED_KIND = "pfsshfs";
    private static final String PINNED_BACKEND = "planetary_pinned";

    /** What the file depends on besides the plan. */
    public record Settings(Map<String, String> backends, String bind, int wsPort, String stats, Path socket,
                           Path pinnedMap, int maxconn) {
    }

    private HaproxyConfig() {
    }

    public static String render(PortPlanInfo plan, Settings s) {
        StringBuilder b = new StringBuilder();
        b.append("# haproxy.cfg for Planetary's companion mode, written by `planetary sync-haproxy --print-config`.\n");
        b.append("# Genesis' port plan:");
        plan.kinds().forEach((k, r) -> b.append(' ').append(k).append('=').append(r.low()).append('-')
            .append(r.high()));
        b.append("\n# No server is listed: sync-haproxy adds, drains and deletes them at run time through the stats\n"
            + "# socket (dynamic servers named by Genesis' VM ids) and keeps the pinned-port map, so nothing is\n"
            + "# ever reloaded for a swarm change. Servers of your own (not named vm_*) are left alone.\n\n");
        b.append("global\n");
        b.append("    maxconn ").append(s.maxconn()).append('\n');
        b.append("    # the companion's runtime API (admin level: it can change every server). Keep it a local socket,\n"
            + "    # writable by HAProxy's group only; sync-haproxy runs in that group.\n");
        b.append("    # expose-fd listeners: a reload (systemctl reload haproxy) hands the listening sockets to the new\n"
            + "    # worker, so no connection attempt is refused while it starts\n");
        b.append("    stats socket ").append(s.socket()).append(" mode 660 level admin expose-fd listeners\n");
        b.append("    # an idle runtime connection is closed after this; the companion reconnects on its next pass\n");
        b.append("    stats timeout 30s\n");
        b.append("    hard-stop-after 30s\n\n");
        b.append("defaults\n"
            + "    mode tcp\n"
            + "    timeout connect 5s\n"
            + "    timeout client 1h\n"
            + "    timeout server 1h\n"
            + "    timeout client-fin 30s\n"
            + "    timeout server-fin 30s\n"
            + "    timeout queue 30s\n"
            + "    retries 3\n"
            + "    option redispatch\n\n");
        for (Map.Entry<String, String> m : s.backends().entrySet()) {
            String backend = m.getKey();
            PortPlanInfo.Range r = plan.range(backend);
            if (r != null) {
                b.append("frontend ").append(backend).append('\n');
                b.append("    bind ").append(bindAddr(s.bind())).append(':').append(r.low()).append('-')
                    .append(r.high()).append('\n');
                b.append("    # a VM's own port of this range reaches that VM: gateway port -> ip/port, kept by\n"
                    + "    # sync-haproxy at run time (add/set/del map) and in the file for a restart\n");
                b.append("    tcp-request content set-var(txn.pin) dst_port,map(").append(s.pinnedMap()).append(")\n");
                b.append("    tcp-request content set-dst var(txn.pin),field(1,/) if { var(txn.pin) -m found }\n");
                b.append("    tcp-request content set-dst-port var(txn.pin),field(2,/) if { var(txn.pin) -m found }\n");
                b.append("    # any other port than the entrance belongs to no active VM: closed, as Planetary's proxy\n");
                b.append("    tcp-request content reject if !{ var(txn.pin) -m found } !{ dst_port ").append(r.low())
                    .append(" }\n");
                b.append("    use_backend ").append(PINNED_BACKEND).append(" if { var(txn.pin) -m found }\n");
                b.append("    default_backend ").append(backend).append("\n\n");
            } else if (backend.equals("ws")) {
                b.append("frontend ws\n");
                b.append("    bind ").append(bindAddr(s.bind())).append(':').append(s.wsPort()).append('\n');
                b.append("    default_backend ws\n\n");
            } else {
                b.append("# backend ").append(backend).append(" has no port range in the plan: add a frontend for it\n");
            }
            b.append("backend ").append(backend).append('\n');
            b.append("    # servers: VMs that declare service '").append(m.getValue())
                .append("', added at run time by sync-haproxy\n");
            if (backend.equals(SOURCE_HASHED_KIND)) {
                b.append("    balance source\n");
                b.append("    # consistent: a VM joining or leaving moves only its share of clients (and dynamic\n"
                    + "    # servers need a dynamic algorithm; map-based hashing is static)\n");
                b.append("    hash-type consistent\n\n");
            } else {
                b.append("    balance leastconn\n\n");
            }
        }
        b.append("backend ").append(PINNED_BACKEND).append('\n');
        b.append("    # 0.0.0.0 and no port: connect where set-dst/set-dst-port pointed the connection\n");
        b.append("    server pinned 0.0.0.0\n\n");
        b.append("frontend stats\n");
        b.append("    mode http\n");
        b.append("    # loopback only: add `stats auth USER:PASSWORD` before exposing it anywhere else\n");
        b.append("    bind ").append(s.stats()).append('\n');
        b.append("    timeout client 30s\n");
        b.append("    stats enable\n");
        b.append("    stats uri /\n");
        b.append("    stats refresh 5s\n");
        return b.toString();
    }

    /** HAProxy takes the port after the last colon, so an IPv6 address needs no brackets. */
    private static String bindAddr(String a) {
        return a.startsWith("[") && a.endsWith("]") ? a.substring(1, a.length() - 1) : a;
    }
}
