package dev.planetary.core.config;

import java.util.List;

/**
 * A stats page: a {@code listen} (or {@code frontend}) section in {@code mode http} with {@code stats enable}, the
 * one HTTP service Planetary runs. It serves HAProxy's stats page, its CSV ({@code ;csv}) and, with
 * {@code http-request use-service prometheus-exporter if { path P }}, Prometheus metrics on path P.
 *
 * @param binds          where it listens (loopback unless {@code users} is not empty: checked by the parser)
 * @param uri            {@code stats uri}: the page's path prefix, HAProxy's default {@link #DEFAULT_URI}
 * @param refreshMs      {@code stats refresh}: the page asks the browser to reload after this long, 0 for never
 * @param users          {@code stats auth} users; empty: no authentication (allowed on loopback binds only)
 * @param realm          {@code stats realm}, the HTTP basic-auth realm
 * @param hideVersion    {@code stats hide-version}: the page does not print the version
 * @param showLegends    {@code stats show-legends}: the page explains its colours and columns
 * @param prometheusPath the exporter's exact path, or null when the section has no exporter line
 * @param clientTimeoutMs {@code timeout client}: an idle HTTP connection is closed after this long, 0 for the default
 */
public record StatsPageConfig(String name, List<Bind> binds, String uri, long refreshMs, List<StatsUser> users,
                              String realm, boolean hideVersion, boolean showLegends, String prometheusPath,
                              long clientTimeoutMs, Origin origin) {

    /** HAProxy's default {@code stats uri}. */
    public static final String DEFAULT_URI = "/haproxy?stats";
    /** HAProxy's default {@code stats realm}: browsers show it in their password prompt. */
    public static final String DEFAULT_REALM = "HAProxy Statistics";

    public StatsPageConfig {
        binds = List.copyOf(binds);
        users = List.copyOf(users);
    }

    /** One {@code stats auth USER:PASSWORD} line; the password never appears in {@link #toString()}. */
    public record StatsUser(String user, String password) {
        @Override
        public String toString() {
            return user + ":<hidden>";
        }
    }
}
