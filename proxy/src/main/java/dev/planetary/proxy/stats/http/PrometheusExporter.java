package dev.planetary.proxy.stats.http;

import dev.planetary.proxy.stats.StatRow;
import dev.planetary.proxy.stats.StatsSnapshot;
import java.util.List;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * {@code /metrics}: the Prometheus text format 0.0.4 with HAProxy 2.6's own exporter names, help texts, types and
 * labels ({@code http-request use-service prometheus-exporter}), taken from the same {@code show stat} rows and
 * {@code show info} fields as the CSV, plus Planetary's own under {@code planetary_}: connect-time and
 * session-duration histograms per backend, the connection log's drops, and each Genesis view's version and
 * staleness.
 *
 * <p>The table below lists HAProxy 2.6's metrics in its order (names and help texts copied from its output), each
 * with the CSV column or info field it reads. HAProxy's HTTP, SSL and compression metrics are left out: they mean
 * nothing for a TCP proxy. A sample whose column is empty for a row (a server without maxconn) is {@code NaN}, as
 * HAProxy prints it.
 */
final class PrometheusExporter {

    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    enum Scope { PROCESS, FRONTEND, BACKEND, SERVER }

    /** Milliseconds in the CSV, seconds in Prometheus. */
    enum Scale { ONE, MS }

    record Metric(Scope scope, String name, String type, String source, Scale scale, String help) {
        String fullName() {
            return "haproxy_" + scope.name().toLowerCase(Locale.ROOT) + "_" + name;
        }
    }

    /** HAProxy's server states of {@code haproxy_server_status}. */
    private static final List<String> SERVER_STATES = List.of("DOWN", "UP", "MAINT", "DRAIN", "NOLB");
    /** HAProxy's check results of {@code haproxy_server_check_status}. */
    private static final List<String> CHECK_STATES = List.of("HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK",
        "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK");

    static final List<Metric> METRICS = List.of(
        new Metric(Scope.PROCESS, "nbthread", "gauge", "Nbthread", Scale.ONE,
            "Number of started threads (global.nbthread)"),
        new Metric(Scope.PROCESS, "nbproc", "gauge", "Nbproc", Scale.ONE,
            "Number of started worker processes (historical, always 1)"),
        new Metric(Scope.PROCESS, "relative_process_id", "gauge", "Process_num", Scale.ONE,
            "Relative worker process number (1)"),
        new Metric(Scope.PROCESS, "uptime_seconds", "gauge", "Uptime_sec", Scale.ONE,
            "How long ago this worker process was started (seconds)"),
        new Metric(Scope.PROCESS, "pool_failures_total", "counter", "PoolFailed", Scale.ONE,
            "Number of failed pool allocations since this worker was started"),
        new Metric(Scope.PROCESS, "max_fds", "gauge", "Ulimit-n", Scale.ONE,
            "Hard limit on the number of per-process file descriptors"),
        new Metric(Scope.PROCESS, "max_sockets", "gauge", "Maxsock", Scale.ONE,
            "Hard limit on the number of per-process sockets"),
        new Metric(Scope.PROCESS, "max_connections", "gauge", "Maxconn", Scale.ONE,
            "Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)"),
        new Metric(Scope.PROCESS, "hard_max_connections", "gauge", "Hard_maxconn", Scale.ONE,
            "Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)"),
        new Metric(Scope.PROCESS, "current_connections", "gauge", "CurrConns", Scale.ONE,
            "Current number of connections on this worker process"),
        new Metric(Scope.PROCESS, "connections_total", "counter", "CumConns", Scale.ONE,
            "Total number of connections on this worker process since started"),
        new Metric(Scope.PROCESS, "requests_total", "counter", "CumReq", Scale.ONE,
            "Total number of requests on this worker process since started"),
        new Metric(Scope.PROCESS, "max_pipes", "gauge", "Maxpipes", Scale.ONE,
            "Hard limit on the number of pipes for splicing, 0=unlimited"),
        new Metric(Scope.PROCESS, "pipes_used_total", "counter", "PipesUsed", Scale.ONE,
            "Current number of pipes in use in this worker process"),
        new Metric(Scope.PROCESS, "pipes_free_total", "counter", "PipesFree", Scale.ONE,
            "Current number of allocated and available pipes in this worker process"),
        new Metric(Scope.PROCESS, "current_connection_rate", "gauge", "ConnRate", Scale.ONE,
            "Number of front connections created on this worker process over the last second"),
        new Metric(Scope.PROCESS, "limit_connection_rate", "gauge", "ConnRateLimit", Scale.ONE,
            "Hard limit for ConnRate (global.maxconnrate)"),
        new Metric(Scope.PROCESS, "max_connection_rate", "gauge", "MaxConnRate", Scale.ONE,
            "Highest ConnRate reached on this worker process since started (in connections per second)"),
        new Metric(Scope.PROCESS, "current_session_rate", "gauge", "SessRate", Scale.ONE,
            "Number of sessions created on this worker process over the last second"),
        new Metric(Scope.PROCESS, "limit_session_rate", "gauge", "SessRateLimit", Scale.ONE,
            "Hard limit for SessRate (global.maxsessrate)"),
        new Metric(Scope.PROCESS, "max_session_rate", "gauge", "MaxSessRate", Scale.ONE,
            "Highest SessRate reached on this worker process since started (in sessions per second)"),
        new Metric(Scope.PROCESS, "current_tasks", "gauge", "Tasks", Scale.ONE,
            "Total number of tasks in the current worker process (active + sleeping)"),
        new Metric(Scope.PROCESS, "current_run_queue", "gauge", "Run_queue", Scale.ONE,
            "Total number of active tasks+tasklets in the current worker process"),
        new Metric(Scope.PROCESS, "idle_time_percent", "gauge", "Idle_pct", Scale.ONE,
            "Percentage of last second spent waiting in the current worker thread"),
        new Metric(Scope.PROCESS, "stopping", "gauge", "Stopping", Scale.ONE,
            "1 if the worker process is currently stopping, otherwise zero"),
        new Metric(Scope.PROCESS, "jobs", "gauge", "Jobs", Scale.ONE,
            "Current number of active jobs on the current worker process (frontend connections, master connections, listeners)"),
        new Metric(Scope.PROCESS, "unstoppable_jobs", "gauge", "Unstoppable", Scale.ONE,
            "Current number of unstoppable jobs on the current worker process (master connections)"),
        new Metric(Scope.PROCESS, "listeners", "gauge", "Listeners", Scale.ONE,
            "Current number of active listeners on the current worker process"),
        new Metric(Scope.PROCESS, "active_peers", "gauge", "ActivePeers", Scale.ONE,
            "Current number of verified active peers connections on the current worker process"),
        new Metric(Scope.PROCESS, "connected_peers", "gauge", "ConnectedPeers", Scale.ONE,
            "Current number of peers having passed the connection step on the current worker process"),
        new Metric(Scope.PROCESS, "dropped_logs_total", "counter", "DroppedLogs", Scale.ONE,
            "Total number of dropped logs for current worker process since started"),
        new Metric(Scope.PROCESS, "busy_polling_enabled", "gauge", "BusyPolling", Scale.ONE,
            "1 if busy-polling is currently in use on the worker process, otherwise zero (config.busy-polling)"),
        new Metric(Scope.PROCESS, "failed_resolutions", "counter", "FailedResolutions", Scale.ONE,
            "Total number of failed DNS resolutions in current worker process since started"),
        new Metric(Scope.PROCESS, "bytes_out_total", "counter", "TotalBytesOut", Scale.ONE,
            "Total number of bytes emitted by current worker process since started"),
        new Metric(Scope.PROCESS, "spliced_bytes_out_total", "counter", "TotalSplicdedBytesOut", Scale.ONE,
            "Total number of bytes emitted by current worker process through a kernel pipe since started"),
        new Metric(Scope.PROCESS, "bytes_out_rate", "gauge", "BytesOutRate", Scale.ONE,
            "Number of bytes emitted by current worker process over the last second"),
        new Metric(Scope.PROCESS, "recv_logs_total", "counter", "CumRecvLogs", Scale.ONE,
            "Total number of log messages received by log-forwarding listeners on this worker process since started"),
        new Metric(Scope.PROCESS, "build_info", "gauge", "Version", Scale.ONE,
            "Build info"),
        new Metric(Scope.PROCESS, "max_memory_bytes", "gauge", "Memmax_bytes", Scale.ONE,
            "Worker process's hard limit on memory usage in byes (-m on command line)"),
        new Metric(Scope.PROCESS, "pool_allocated_bytes", "gauge", "PoolAlloc_bytes", Scale.ONE,
            "Amount of memory allocated in pools (in bytes)"),
        new Metric(Scope.PROCESS, "pool_used_bytes", "gauge", "PoolUsed_bytes", Scale.ONE,
            "Amount of pool memory currently used (in bytes)"),
        new Metric(Scope.PROCESS, "start_time_seconds", "gauge", "Start_time_sec", Scale.ONE,
            "Start time in seconds"),
        new Metric(Scope.FRONTEND, "current_sessions", "gauge", "scur", Scale.ONE,
            "Number of current sessions on the frontend, backend or server"),
        new Metric(Scope.FRONTEND, "max_sessions", "gauge", "smax", Scale.ONE,
            "Highest value of current sessions encountered since process started"),
        new Metric(Scope.FRONTEND, "limit_sessions", "gauge", "slim", Scale.ONE,
            "Frontend/listener/server's maxconn, backend's fullconn"),
        new Metric(Scope.FRONTEND, "sessions_total", "counter", "stot", Scale.ONE,
            "Total number of sessions since process started"),
        new Metric(Scope.FRONTEND, "bytes_in_total", "counter", "bin", Scale.ONE,
            "Total number of request bytes since process started"),
        new Metric(Scope.FRONTEND, "bytes_out_total", "counter", "bout", Scale.ONE,
            "Total number of response bytes since process started"),
        new Metric(Scope.FRONTEND, "requests_denied_total", "counter", "dreq", Scale.ONE,
            "Total number of denied requests since process started"),
        new Metric(Scope.FRONTEND, "responses_denied_total", "counter", "dresp", Scale.ONE,
            "Total number of denied responses since process started"),
        new Metric(Scope.FRONTEND, "request_errors_total", "counter", "ereq", Scale.ONE,
            "Total number of invalid requests since process started"),
        new Metric(Scope.FRONTEND, "status", "gauge", "status", Scale.ONE,
            "Current status of the service, per state label value."),
        new Metric(Scope.FRONTEND, "limit_session_rate", "gauge", "rate_lim", Scale.ONE,
            "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)"),
        new Metric(Scope.FRONTEND, "max_session_rate", "gauge", "rate_max", Scale.ONE,
            "Highest value of sessions per second observed since the worker process started"),
        new Metric(Scope.FRONTEND, "connections_rate_max", "gauge", "conn_rate_max", Scale.ONE,
            "Highest value of connections per second observed since the worker process started"),
        new Metric(Scope.FRONTEND, "connections_total", "counter", "conn_tot", Scale.ONE,
            "Total number of new connections accepted on this frontend since the worker process started"),
        new Metric(Scope.FRONTEND, "denied_connections_total", "counter", "dcon", Scale.ONE,
            "Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started"),
        new Metric(Scope.FRONTEND, "denied_sessions_total", "counter", "dses", Scale.ONE,
            "Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started"),
        new Metric(Scope.FRONTEND, "internal_errors_total", "counter", "eint", Scale.ONE,
            "Total number of internal errors since process started"),
        new Metric(Scope.BACKEND, "current_queue", "gauge", "qcur", Scale.ONE,
            "Number of current queued connections"),
        new Metric(Scope.BACKEND, "max_queue", "gauge", "qmax", Scale.ONE,
            "Highest value of queued connections encountered since process started"),
        new Metric(Scope.BACKEND, "current_sessions", "gauge", "scur", Scale.ONE,
            "Number of current sessions on the frontend, backend or server"),
        new Metric(Scope.BACKEND, "max_sessions", "gauge", "smax", Scale.ONE,
            "Highest value of current sessions encountered since process started"),
        new Metric(Scope.BACKEND, "limit_sessions", "gauge", "slim", Scale.ONE,
            "Frontend/listener/server's maxconn, backend's fullconn"),
        new Metric(Scope.BACKEND, "sessions_total", "counter", "stot", Scale.ONE,
            "Total number of sessions since process started"),
        new Metric(Scope.BACKEND, "bytes_in_total", "counter", "bin", Scale.ONE,
            "Total number of request bytes since process started"),
        new Metric(Scope.BACKEND, "bytes_out_total", "counter", "bout", Scale.ONE,
            "Total number of response bytes since process started"),
        new Metric(Scope.BACKEND, "requests_denied_total", "counter", "dreq", Scale.ONE,
            "Total number of denied requests since process started"),
        new Metric(Scope.BACKEND, "responses_denied_total", "counter", "dresp", Scale.ONE,
            "Total number of denied responses since process started"),
        new Metric(Scope.BACKEND, "connection_errors_total", "counter", "econ", Scale.ONE,
            "Total number of failed connections to server since the worker process started"),
        new Metric(Scope.BACKEND, "response_errors_total", "counter", "eresp", Scale.ONE,
            "Total number of invalid responses since the worker process started"),
        new Metric(Scope.BACKEND, "retry_warnings_total", "counter", "wretr", Scale.ONE,
            "Total number of server connection retries since the worker process started"),
        new Metric(Scope.BACKEND, "redispatch_warnings_total", "counter", "wredis", Scale.ONE,
            "Total number of server redispatches due to connection failures since the worker process started"),
        new Metric(Scope.BACKEND, "status", "gauge", "status", Scale.ONE,
            "Current status of the service, per state label value."),
        new Metric(Scope.BACKEND, "weight", "gauge", "weight", Scale.ONE,
            "Server's effective weight, or sum of active servers' effective weights for a backend"),
        new Metric(Scope.BACKEND, "active_servers", "gauge", "act", Scale.ONE,
            "Total number of active UP servers with a non-zero weight"),
        new Metric(Scope.BACKEND, "backup_servers", "gauge", "bck", Scale.ONE,
            "Total number of backup UP servers with a non-zero weight"),
        new Metric(Scope.BACKEND, "check_up_down_total", "counter", "chkdown", Scale.ONE,
            "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started"),
        new Metric(Scope.BACKEND, "check_last_change_seconds", "gauge", "lastchg", Scale.ONE,
            "How long ago the last server state changed, in seconds"),
        new Metric(Scope.BACKEND, "downtime_seconds_total", "counter", "downtime", Scale.ONE,
            "Total time spent in DOWN state, for server or backend"),
        new Metric(Scope.BACKEND, "loadbalanced_total", "counter", "lbtot", Scale.ONE,
            "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)"),
        new Metric(Scope.BACKEND, "max_session_rate", "gauge", "rate_max", Scale.ONE,
            "Highest value of sessions per second observed since the worker process started"),
        new Metric(Scope.BACKEND, "client_aborts_total", "counter", "cli_abrt", Scale.ONE,
            "Total number of requests or connections aborted by the client since the worker process started"),
        new Metric(Scope.BACKEND, "server_aborts_total", "counter", "srv_abrt", Scale.ONE,
            "Total number of requests or connections aborted by the server since the worker process started"),
        new Metric(Scope.BACKEND, "last_session_seconds", "gauge", "lastsess", Scale.ONE,
            "How long ago some traffic was seen on this object on this worker process, in seconds"),
        new Metric(Scope.BACKEND, "queue_time_average_seconds", "gauge", "qtime", Scale.MS,
            "Avg. queue time for last 1024 successful connections."),
        new Metric(Scope.BACKEND, "connect_time_average_seconds", "gauge", "ctime", Scale.MS,
            "Avg. connect time for last 1024 successful connections."),
        new Metric(Scope.BACKEND, "response_time_average_seconds", "gauge", "rtime", Scale.MS,
            "Avg. response time for last 1024 successful connections."),
        new Metric(Scope.BACKEND, "total_time_average_seconds", "gauge", "ttime", Scale.MS,
            "Avg. total time for last 1024 successful connections."),
        new Metric(Scope.BACKEND, "connection_attempts_total", "counter", "connect", Scale.ONE,
            "Total number of outgoing connection attempts on this backend/server since the worker process started"),
        new Metric(Scope.BACKEND, "connection_reuses_total", "counter", "reuse", Scale.ONE,
            "Total number of reused connection on this backend/server since the worker process started"),
        new Metric(Scope.BACKEND, "max_queue_time_seconds", "gauge", "qtime_max", Scale.MS,
            "Maximum observed time spent in the queue"),
        new Metric(Scope.BACKEND, "max_connect_time_seconds", "gauge", "ctime_max", Scale.MS,
            "Maximum observed time spent waiting for a connection to complete"),
        new Metric(Scope.BACKEND, "max_response_time_seconds", "gauge", "rtime_max", Scale.MS,
            "Maximum observed time spent waiting for a server response"),
        new Metric(Scope.BACKEND, "max_total_time_seconds", "gauge", "ttime_max", Scale.MS,
            "Maximum observed total request+response time (request+queue+connect+response+processing)"),
        new Metric(Scope.BACKEND, "internal_errors_total", "counter", "eint", Scale.ONE,
            "Total number of internal errors since process started"),
        new Metric(Scope.BACKEND, "uweight", "gauge", "uweight", Scale.ONE,
            "Server's user weight, or sum of active servers' user weights for a backend"),
        new Metric(Scope.SERVER, "current_queue", "gauge", "qcur", Scale.ONE,
            "Number of current queued connections"),
        new Metric(Scope.SERVER, "max_queue", "gauge", "qmax", Scale.ONE,
            "Highest value of queued connections encountered since process started"),
        new Metric(Scope.SERVER, "current_sessions", "gauge", "scur", Scale.ONE,
            "Number of current sessions on the frontend, backend or server"),
        new Metric(Scope.SERVER, "max_sessions", "gauge", "smax", Scale.ONE,
            "Highest value of current sessions encountered since process started"),
        new Metric(Scope.SERVER, "limit_sessions", "gauge", "slim", Scale.ONE,
            "Frontend/listener/server's maxconn, backend's fullconn"),
        new Metric(Scope.SERVER, "sessions_total", "counter", "stot", Scale.ONE,
            "Total number of sessions since process started"),
        new Metric(Scope.SERVER, "bytes_in_total", "counter", "bin", Scale.ONE,
            "Total number of request bytes since process started"),
        new Metric(Scope.SERVER, "bytes_out_total", "counter", "bout", Scale.ONE,
            "Total number of response bytes since process started"),
        new Metric(Scope.SERVER, "responses_denied_total", "counter", "dresp", Scale.ONE,
            "Total number of denied responses since process started"),
        new Metric(Scope.SERVER, "connection_errors_total", "counter", "econ", Scale.ONE,
            "Total number of failed connections to server since the worker process started"),
        new Metric(Scope.SERVER, "response_errors_total", "counter", "eresp", Scale.ONE,
            "Total number of invalid responses since the worker process started"),
        new Metric(Scope.SERVER, "retry_warnings_total", "counter", "wretr", Scale.ONE,
            "Total number of server connection retries since the worker process started"),
        new Metric(Scope.SERVER, "redispatch_warnings_total", "counter", "wredis", Scale.ONE,
            "Total number of server redispatches due to connection failures since the worker process started"),
        new Metric(Scope.SERVER, "status", "gauge", "status", Scale.ONE,
            "Current status of the service, per state label value."),
        new Metric(Scope.SERVER, "weight", "gauge", "weight", Scale.ONE,
            "Server's effective weight, or sum of active servers' effective weights for a backend"),
        new Metric(Scope.SERVER, "check_failures_total", "counter", "chkfail", Scale.ONE,
            "Total number of failed individual health checks per server/backend, since the worker process started"),
        new Metric(Scope.SERVER, "check_up_down_total", "counter", "chkdown", Scale.ONE,
            "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started"),
        new Metric(Scope.SERVER, "check_last_change_seconds", "gauge", "lastchg", Scale.ONE,
            "How long ago the last server state changed, in seconds"),
        new Metric(Scope.SERVER, "downtime_seconds_total", "counter", "downtime", Scale.ONE,
            "Total time spent in DOWN state, for server or backend"),
        new Metric(Scope.SERVER, "queue_limit", "gauge", "qlimit", Scale.ONE,
            "Limit on the number of connections in queue, for servers only (maxqueue argument)"),
        new Metric(Scope.SERVER, "current_throttle", "gauge", "throttle", Scale.ONE,
            "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)"),
        new Metric(Scope.SERVER, "loadbalanced_total", "counter", "lbtot", Scale.ONE,
            "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)"),
        new Metric(Scope.SERVER, "max_session_rate", "gauge", "rate_max", Scale.ONE,
            "Highest value of sessions per second observed since the worker process started"),
        new Metric(Scope.SERVER, "check_status", "gauge", "check_status", Scale.ONE,
            "Status of last health check, per state label value."),
        new Metric(Scope.SERVER, "check_code", "gauge", "check_code", Scale.ONE,
            "layer5-7 code, if available of the last health check."),
        new Metric(Scope.SERVER, "check_duration_seconds", "gauge", "check_duration", Scale.MS,
            "Total duration of the latest server health check, in seconds."),
        new Metric(Scope.SERVER, "client_aborts_total", "counter", "cli_abrt", Scale.ONE,
            "Total number of requests or connections aborted by the client since the worker process started"),
        new Metric(Scope.SERVER, "server_aborts_total", "counter", "srv_abrt", Scale.ONE,
            "Total number of requests or connections aborted by the server since the worker process started"),
        new Metric(Scope.SERVER, "last_session_seconds", "gauge", "lastsess", Scale.ONE,
            "How long ago some traffic was seen on this object on this worker process, in seconds"),
        new Metric(Scope.SERVER, "queue_time_average_seconds", "gauge", "qtime", Scale.MS,
            "Avg. queue time for last 1024 successful connections."),
        new Metric(Scope.SERVER, "connect_time_average_seconds", "gauge", "ctime", Scale.MS,
            "Avg. connect time for last 1024 successful connections."),
        new Metric(Scope.SERVER, "response_time_average_seconds", "gauge", "rtime", Scale.MS,
            "Avg. response time for last 1024 successful connections."),
        new Metric(Scope.SERVER, "total_time_average_seconds", "gauge", "ttime", Scale.MS,
            "Avg. total time for last 1024 successful connections."),
        new Metric(Scope.SERVER, "connection_attempts_total", "counter", "connect", Scale.ONE,
            "Total number of outgoing connection attempts on this backend/server since the worker process started"),
        new Metric(Scope.SERVER, "connection_reuses_total", "counter", "reuse", Scale.ONE,
            "Total number of reused connection on this backend/server since the worker process started"),
        new Metric(Scope.SERVER, "idle_connections_current", "gauge", "srv_icur", Scale.ONE,
            "Current number of idle connections available for reuse on this server"),
        new Metric(Scope.SERVER, "idle_connections_limit", "gauge", "src_ilim", Scale.ONE,
            "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)"),
        new Metric(Scope.SERVER, "max_queue_time_seconds", "gauge", "qtime_max", Scale.MS,
            "Maximum observed time spent in the queue"),
        new Metric(Scope.SERVER, "max_connect_time_seconds", "gauge", "ctime_max", Scale.MS,
            "Maximum observed time spent waiting for a connection to complete"),
        new Metric(Scope.SERVER, "max_response_time_seconds", "gauge", "rtime_max", Scale.MS,
            "Maximum observed time spent waiting for a server response"),
        new Metric(Scope.SERVER, "max_total_time_seconds", "gauge", "ttime_max", Scale.MS,
            "Maximum observed total request+response time (request+queue+connect+response+processing)"),
        new Metric(Scope.SERVER, "internal_errors_total", "counter", "eint", Scale.ONE,
            "Total number of internal errors since process started"),
        new Metric(Scope.SERVER, "unsafe_idle_connections_current", "gauge", "idle_conn_cur", Scale.ONE,
            "Current number of unsafe idle connections"),
        new Metric(Scope.SERVER, "safe_idle_connections_current", "gauge", "safe_conn_cur", Scale.ONE,
            "Current number of safe idle connections"),
        new Metric(Scope.SERVER, "used_connections_current", "gauge", "used_conn_cur", Scale.ONE,
            "Current number of connections in use"),
        new Metric(Scope.SERVER, "need_connections_current", "gauge", "need_conn_est", Scale.ONE,
            "Estimated needed number of connections"),
        new Metric(Scope.SERVER, "uweight", "gauge", "uweight", Scale.ONE,
            "Server's user weight, or sum of active servers' user weights for a backend")    );

    private PrometheusExporter() {
    }

    static String render(StatsSnapshot snapshot, List<GenesisStatus> genesis, LatencyHistograms histograms) {
        StringBuilder out = new StringBuilder(64 * 1024);
        for (Metric m : METRICS) {
            if (m.scope() == Scope.PROCESS) {
                process(m, snapshot, out);
            } else {
                proxies(m, snapshot.rows(), out);
            }
        }
        planetary(genesis, histograms, out);
        return out.toString();
    }

    private static void header(Metric m, StringBuilder out) {
        header(m.fullName(), m.help(), m.type(), out);
    }

    private static void header(String name, String help, String type, StringBuilder out) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void process(Metric m, StatsSnapshot snapshot, StringBuilder out) {
        String v = snapshot.info(m.source());
        if (v == null || v.isEmpty()) {
            return;
        }
        if (m.name().equals("build_info")) {
            header(m, out);
            out.append(m.fullName()).append("{version=\"").append(escape(v)).append("\"} 1\n");
            return;
        }
        if (!numeric(v)) {
            return;
        }
        header(m, out);
        out.append(m.fullName()).append(' ').append(v).append('\n');
    }

    private static StatRow.Type type(Scope s) {
        return switch (s) {
            case FRONTEND -> StatRow.Type.FRONTEND;
            case BACKEND -> StatRow.Type.BACKEND;
            default -> StatRow.Type.SERVER;
        };
    }

    private static void proxies(Metric m, List<StatRow> rows, StringBuilder out) {
        StatRow.Type type = type(m.scope());
        boolean headed = false;
        for (StatRow r : rows) {
            if (r.type() != type) {
                continue;
            }
            String v = r.get(m.source());
            if (m.name().equals("status")) {
                headed = head(m, headed, out);
                status(m, r, out);
                continue;
            }
            if (m.name().equals("check_status")) {
                if (v == null || v.isEmpty()) {
                    continue; // a server without checks has no check status, as in HAProxy
                }
                headed = head(m, headed, out);
                String state = v.startsWith("* ") ? v.substring(2) : v;
                for (String s : CHECK_STATES) {
                    labels(m, r, out).append(",state=\"").append(s).append("\"} ").append(s.equals(state) ? 1 : 0)
                        .append('\n');
                }
                continue;
            }
            if (v != null && !v.isEmpty() && !numeric(v)) {
                continue;
            }
            headed = head(m, headed, out);
            labels(m, r, out).append("} ");
            if (v == null || v.isEmpty()) {
                out.append("NaN");
            } else if (m.scale() == Scale.MS) {
                out.append(String.format(Locale.ROOT, "%.6f", Long.parseLong(v) / 1000.0));
            } else {
                out.append(v);
            }
            out.append('\n');
        }
    }

    private static boolean head(Metric m, boolean headed, StringBuilder out) {
        if (!headed) {
            header(m, out);
        }
        return true;
    }

    private static StringBuilder labels(Metric m, StatRow r, StringBuilder out) {
        out.append(m.fullName()).append("{proxy=\"").append(escape(r.proxyName())).append('"');
        if (m.scope() == Scope.SERVER) {
            out.append(",server=\"").append(escape(r.serverName())).append('"');
        }
        return out;
    }

    /** Frontends and backends: DOWN/UP; servers: HAProxy's five states ("UP 1/3" going down is UP, "no check" UP). */
    private static void status(Metric m, StatRow r, StringBuilder out) {
        String v = r.get("status");
        String s = v == null ? "" : v;
        if (m.scope() != Scope.SERVER) {
            boolean up = s.equals("OPEN") || s.equals("UP");
            labels(m, r, out).append(",state=\"DOWN\"} ").append(up ? 0 : 1).append('\n');
            labels(m, r, out).append(",state=\"UP\"} ").append(up ? 1 : 0).append('\n');
            return;
        }
        String state = serverState(s);
        for (String st : SERVER_STATES) {
            labels(m, r, out).append(",state=\"").append(st).append("\"} ").append(st.equals(state) ? 1 : 0)
                .append('\n');
        }
    }

    /** The {@code haproxy_server_status} state of a CSV status value. */
    static String serverState(String status) {
        if (status.startsWith("MAINT")) {
            return "MAINT";
        }
        if (status.startsWith("DRAIN")) {
            return "DRAIN";
        }
        if (status.startsWith("NOLB")) {
            return "NOLB";
        }
        if (status.startsWith("DOWN")) {
            return "DOWN";
        }
        return "UP"; // "UP", "UP 1/3" (going down), "no check"
    }

    private static void planetary(List<GenesisStatus> genesis, LatencyHistograms histograms, StringBuilder out) {
        if (histograms != null) {
            histogram("planetary_backend_connect_time_seconds", "Time to establish a server connection, per backend"
                + " (HdrHistogram, 2 significant digits)", histograms, true, out);
            histogram("planetary_backend_session_duration_seconds", "Duration of sessions that got a server, per"
                + " backend (HdrHistogram, 2 significant digits)", histograms, false, out);
        }
        if (genesis.isEmpty()) {
            return;
        }
        header("planetary_genesis_view_version", "Version of the Genesis view in force", "gauge", out);
        for (GenesisStatus g : genesis) {
            out.append("planetary_genesis_view_version{genesis=\"").append(escape(g.name())).append("\"} ")
                .append(g.version()).append('\n');
        }
        header("planetary_genesis_stale", "1 while Genesis is unreachable and the last view stays in force", "gauge",
            out);
        for (GenesisStatus g : genesis) {
            out.append("planetary_genesis_stale{genesis=\"").append(escape(g.name())).append("\"} ")
                .append(g.stale() ? 1 : 0).append('\n');
        }
        header("planetary_genesis_stale_episodes_total", "Times the Genesis view went stale since start", "counter",
            out);
        for (GenesisStatus g : genesis) {
            out.append("planetary_genesis_stale_episodes_total{genesis=\"").append(escape(g.name())).append("\"} ")
                .append(g.staleEpisodes()).append('\n');
        }
        header("planetary_genesis_vms", "VMs in the Genesis view in force", "gauge", out);
        for (GenesisStatus g : genesis) {
            out.append("planetary_genesis_vms{genesis=\"").append(escape(g.name())).append("\"} ")
                .append(g.vms()).append('\n');
        }
    }

    private static void histogram(String name, String help, LatencyHistograms histograms, boolean connect,
                                  StringBuilder out) {
        header(name, help, "histogram", out);
        for (LatencyHistograms.Backend b : histograms.backends()) {
            Histogram h = (connect ? b.connect : b.session).read();
            double unit = connect ? 1e-6 : 1e-3; // recorded in us / ms
            double[] bounds = connect ? LatencyHistograms.CONNECT_BUCKETS : LatencyHistograms.SESSION_BUCKETS;
            String label = "{proxy=\"" + escape(b.name) + "\"";
            for (double le : bounds) {
                long limit = (long) Math.floor(le / unit);
                long count = h.getTotalCount() == 0 ? 0 : h.getCountBetweenValues(0, limit);
                out.append(name).append("_bucket").append(label).append(",le=\"").append(bound(le)).append("\"} ")
                    .append(count).append('\n');
            }
            out.append(name).append("_bucket").append(label).append(",le=\"+Inf\"} ").append(h.getTotalCount())
                .append('\n');
            double sum = h.getTotalCount() == 0 ? 0 : h.getMean() * h.getTotalCount() * unit;
            out.append(name).append("_sum").append(label).append("} ")
                .append(String.format(Locale.ROOT, "%.6f", sum)).append('\n');
            out.append(name).append("_count").append(label).append("} ").append(h.getTotalCount()).append('\n');
        }
    }

    private static String bound(double le) {
        return java.math.BigDecimal.valueOf(le).stripTrailingZeros().toPlainString();
    }

    private static boolean numeric(String v) {
        int i = v.startsWith("-") ? 1 : 0;
        if (i >= v.length()) {
            return false;
        }
        for (; i < v.length(); i++) {
            char c = v.charAt(i);
            if ((c < '0' || c > '9') && c != '.') {
                return false;
            }
        }
        return true;
    }

    /** Label values: backslash, double quote and newline escaped (text format 0.0.4). */
    static String escape(String v) {
        if (v.indexOf('\\') < 0 && v.indexOf('"') < 0 && v.indexOf('\n') < 0) {
            return v;
        }
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
