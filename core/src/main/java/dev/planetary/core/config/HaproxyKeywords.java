package dev.planetary.core.config;

import java.util.Set;

/**
 * Words that real HAProxy (2.6, configuration manual sections 3, 4.1, 5.1 and 5.2) understands but Planetary
 * does not. Knowing them lets the parser say "HAProxy has this, Planetary does not" rather than "unknown
 * keyword", which is what a user pasting an existing haproxy.cfg needs to hear.
 */
final class HaproxyKeywords {

    private HaproxyKeywords() {
    }

    /** Section headers other than global, defaults, frontend, backend and listen. */
    static final Set<String> SECTIONS = Set.of("peers", "resolvers", "userlist", "mailers", "cache", "program",
            "http-errors", "ring", "fcgi-app", "log-forward", "crt-store", "traces");

    /** Global keywords, besides those starting with one of {@link #GLOBAL_PREFIXES}. */
    static final Set<String> GLOBAL = Set.of("ca-base", "chroot", "cluster-secret", "cpu-map", "crt-base",
            "daemon", "default-path", "description", "expose-experimental-directives", "external-check",
            "fd-hard-limit", "gid", "grace", "group", "h1-accept-payload-with-any-method", "h1-case-adjust",
            "h1-case-adjust-file", "h2-workaround-bogus-websocket-clients", "insecure-fork-wanted",
            "insecure-setuid-wanted", "issuers-chain-path", "localpeer", "log", "log-send-hostname", "log-tag",
            "lua-load", "lua-load-per-thread", "lua-prepend-path", "master-worker", "mworker-max-reloads", "nbproc",
            "node", "numa-cpu-mapping", "pidfile", "pp2-never-send-local", "presetenv", "resetenv", "set-dumpable",
            "set-var", "setenv", "stats", "strict-limits", "uid", "ulimit-n", "unix-bind", "unsetenv", "user",
            "busy-polling", "max-spread-checks", "maxcompcpuusage", "maxcomprate", "maxconnrate", "maxpipes",
            "maxsessrate", "maxsslconn", "maxsslrate", "maxzlibmem", "no-memory-trimming", "noepoll", "noevports",
            "nogetaddrinfo", "nokqueue", "nopoll", "noreuseport", "nosplice", "server-state-base",
            "server-state-file", "spread-checks", "quiet", "zero-warning", "debug", "thread-groups",
            "thread-group", "nbcores", "limited-quic");

    /** Families of global keywords: tune.bufsize, ssl-default-bind-ciphers, profiling.tasks, ... */
    static final String[] GLOBAL_PREFIXES = {"tune.", "ssl-", "profiling.", "httpclient.", "51degrees-",
        "deviceatlas-", "wurfl-"};

    /** Keywords of defaults, frontend, backend and listen sections that Planetary does not implement. */
    static final Set<String> PROXY = Set.of("acl", "backlog", "bind-process", "capture", "clitcpka-cnt",
            "clitcpka-idle", "clitcpka-intvl", "compression", "cookie", "declare", "description", "disabled",
            "dispatch", "email-alert", "enabled", "error-log-format", "errorfile", "errorfiles", "errorloc",
            "errorloc302", "errorloc303", "external-check", "filter", "force-persist", "fullconn", "grace",
            "hash-balance-factor", "http-after-response", "http-check", "http-error", "http-request",
            "http-response", "http-reuse", "http-send-name-header", "id", "ignore-persist",
            "load-server-state-from-file", "log", "log-format", "log-format-sd", "log-tag",
            "max-keep-alive-queue", "max-session-srv-conns", "monitor", "monitor-uri", "monitor-fail",
            "persist", "rate-limit", "redirect", "retry-on", "server-state-file-name", "server-template", "source",
            "srvtcpka-cnt", "srvtcpka-idle", "srvtcpka-intvl", "stats", "stick", "stick-table", "stick-on",
            "stick-match", "stick-store-request", "stick-store-response", "tcp-check", "tcp-request",
            "tcp-response", "transparent", "unique-id-format", "unique-id-header", "use-fcgi-app", "use-server",
            "use_backend", "contimeout", "clitimeout", "srvtimeout", "appsession", "reqadd", "reqrep", "rspadd",
            "rsprep", "block", "monitor-net", "http-chk");

    /** {@code option} names (also valid after {@code no option}) other than {@code redispatch}. */
    static final Set<String> OPTIONS = Set.of("abortonclose", "accept-invalid-http-request",
            "accept-invalid-http-response", "allbackups", "checkcache", "clitcpka", "contstats",
            "disable-h2-upgrade", "dontlog-normal", "dontlognull", "external-check", "forwardfor",
            "h1-case-adjust-bogus-client", "h1-case-adjust-bogus-server", "http-buffer-request",
            "http-ignore-probes", "http-keep-alive", "http-no-delay", "http-pretend-keepalive",
            "http-restrict-req-hdr-names", "http-server-close", "http-use-proxy-header", "httpchk", "httpclose",
            "httplog", "httpslog", "http_proxy", "idle-close-on-response", "independent-streams", "ldap-check",
            "log-health-checks", "log-separate-errors", "logasap", "mysql-check", "nolinger", "originalto",
            "persist", "pgsql-check", "prefer-last-server", "redis-check", "smtpchk", "socket-stats", "splice-auto",
            "splice-request", "splice-response", "spop-check", "srvtcpka", "ssl-hello-chk", "tcp-check",
            "tcp-smart-accept", "tcp-smart-connect", "tcpka", "tcplog", "transparent", "forceclose");

    /** {@code timeout} kinds other than connect, client, server, queue, client-fin, server-fin and tunnel. */
    static final Set<String> TIMEOUTS = Set.of("check", "http-keep-alive", "http-request", "tarpit");

    /** {@code balance} algorithms other than roundrobin, leastconn and source (some take "(arg)"). */
    static final Set<String> BALANCE = Set.of("static-rr", "first", "uri", "url_param", "hdr", "random",
            "rdp-cookie", "hash");

    /** Hash functions and modifiers accepted after {@code hash-type map-based|consistent}. */
    static final Set<String> HASH_FUNCTIONS = Set.of("sdbm", "djb2", "wt6", "crc32", "none", "avalanche");

    /** Options of a {@code bind} line. Planetary supports none of them. */
    static final Set<String> BIND_OPTIONS = Set.of("accept-netscaler-cip", "accept-proxy", "allow-0rtt", "alpn",
            "backlog", "ca-file", "ca-ignore-err", "ca-sign-file", "ca-sign-pass", "ca-verify-file", "ciphers",
            "ciphersuites", "crl-file", "crt", "crt-ignore-err", "crt-list", "curves", "defer-accept", "ecdhe",
            "expose-fd", "force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13",
            "generate-certificates", "gid", "group", "id", "interface", "level", "maxconn", "mode", "mss", "name",
            "namespace", "nice", "no-ca-names", "no-sslv3", "no-tls-tickets", "no-tlsv10", "no-tlsv11",
            "no-tlsv12", "no-tlsv13", "npn", "prefer-client-ciphers", "process", "proto", "quic-cc-algo",
            "quic-force-retry", "severity-output", "shards", "ssl", "ssl-max-ver", "ssl-min-ver", "strict-sni",
            "tcp-ut", "tfo", "thread", "tls-ticket-keys", "transparent", "uid", "user", "v4v6", "v6only",
            "verify", "no-alpn");

    /** Options of {@code server} and {@code default-server} lines that Planetary does not implement. */
    static final Set<String> SERVER_OPTIONS = Set.of("addr", "agent-addr", "agent-check", "agent-inter",
            "agent-port", "agent-send", "allow-0rtt", "alpn", "ca-file", "check-alpn", "check-proto",
            "check-send-proxy", "check-sni", "check-ssl", "check-via-socks4", "ciphers", "ciphersuites", "cookie",
            "crl-file", "crt", "downinter", "error-limit", "fastinter", "force-sslv3", "force-tlsv10",
            "force-tlsv11", "force-tlsv12", "force-tlsv13", "id", "init-addr", "log-proto", "max-reuse",
            "maxqueue", "minconn", "namespace", "no-agent-check", "no-check-ssl", "no-send-proxy",
            "no-send-proxy-v2", "no-send-proxy-v2-ssl", "no-send-proxy-v2-ssl-cn", "no-ssl", "no-ssl-reuse",
            "no-sslv3", "no-tfo", "no-tls-tickets", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13",
            "no-verifyhost", "non-stick", "npn", "observe", "on-error", "on-marked-down", "on-marked-up",
            "pool-low-conn", "pool-max-conn", "pool-purge-delay", "port", "proto", "proxy-v2-options", "redir",
            "resolve-net", "resolve-opts", "resolve-prefer", "resolvers", "send-proxy", "send-proxy-v2",
            "send-proxy-v2-ssl", "send-proxy-v2-ssl-cn", "slowstart", "sni", "socks4", "source", "ssl",
            "ssl-max-ver", "ssl-min-ver", "ssl-reuse", "stick", "tcp-ut", "tfo", "tls-tickets", "track", "verify",
            "verifyhost", "ws", "usesrc", "set-proxy-v2-tlv-fmt", "guid", "hash-key", "shard");

    /** Conditional blocks and messages ({@code .if}, {@code .notice}, ...), allowed anywhere in HAProxy. */
    static final Set<String> DIRECTIVES = Set.of(".if", ".elif", ".else", ".endif", ".notice", ".warning",
            ".alert", ".diag");

    static boolean isGlobal(String keyword) {
        if (GLOBAL.contains(keyword)) {
            return true;
        }
        for (String prefix : GLOBAL_PREFIXES) {
            if (keyword.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /** "hdr(host)" and "random(2)" count as "hdr" and "random". */
    static boolean isBalance(String algorithm) {
        int paren = algorithm.indexOf('(');
        return BALANCE.contains(paren < 0 ? algorithm : algorithm.substring(0, paren));
    }
}
