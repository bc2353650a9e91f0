package dev.planetary.core.config;

import java.util.ArrayList;
import java.util.List;

/**
 * The stats page keywords of a {@code listen}/{@code frontend} section: {@code stats enable|uri|refresh|auth|realm|
 * hide-version|show-legends} and {@code http-request use-service prometheus-exporter [if { path P }]}. What one
 * section wrote is collected in a {@link Page}; {@link ConfigParser} decides at the end of the files whether the
 * section is a valid stats page (it needs {@code mode http}, and {@code stats auth} unless it binds loopback only).
 */
final class StatsPageKeywords {

    /**
     * The documentation's placeholder password. Refused, so that a config copied from the README never runs with a
     * password everybody knows.
     */
    static final String PLACEHOLDER_PASSWORD = "CHANGE_ME";
    /** Shortest password accepted: {@code stats auth} guards a page that exposes the whole swarm's addresses. */
    static final int MIN_PASSWORD_LENGTH = 8;

    private StatsPageKeywords() {
    }

    /** What one section's stats lines said. */
    static final class Page {
        boolean enabled;
        String uri = StatsPageConfig.DEFAULT_URI;
        long refreshMs;
        final List<StatsPageConfig.StatsUser> users = new ArrayList<>();
        String realm = StatsPageConfig.DEFAULT_REALM;
        boolean hideVersion;
        boolean showLegends;
        String prometheusPath;
        boolean prometheusEverywhere;
        /** The first stats or exporter line: where an error about the whole page points. */
        Origin first;

        boolean used() {
            return first != null;
        }
    }

    /** One {@code stats ...} line. */
    static void stats(List<String> w, Page page, Origin at) {
        String sub = w.size() > 1 ? w.get(1) : "";
        switch (sub) {
            case "enable" -> {
                noMore(w, 2);
                page.enabled = true;
            }
            case "uri" -> {
                String uri = arg(w, "a path starting with '/', e.g. 'stats uri /'");
                if (!uri.startsWith("/")) {
                    throw new LineError("'stats uri' expects a path starting with '/', got '" + uri + "'");
                }
                noMore(w, 3);
                page.uri = uri;
                page.enabled = true; // as in HAProxy: any stats line but 'stats admin' enables the page
            }
            case "refresh" -> {
                String v = arg(w, "a time, e.g. 'stats refresh 10s'");
                try {
                    page.refreshMs = Durations.parseMillis(v);
                } catch (Durations.InvalidDurationException e) {
                    throw new LineError("'stats refresh' expects a time, got '" + v + "': " + e.reason());
                }
                noMore(w, 3);
                page.enabled = true;
            }
            case "auth" -> {
                page.users.add(user(arg(w, "<user>:<password>"), page));
                noMore(w, 3);
                page.enabled = true;
            }
            case "realm" -> {
                // HAProxy takes the rest of the line; quote it to keep spaces ("stats realm \"My swarm\"")
                String realm = arg(w, "a realm name");
                if (realm.indexOf('"') >= 0 || realm.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                    throw new LineError("'stats realm' : the realm may not contain '\"' or control characters");
                }
                noMore(w, 3);
                page.realm = realm;
                page.enabled = true;
            }
            case "hide-version" -> {
                noMore(w, 2);
                page.hideVersion = true;
                page.enabled = true;
            }
            case "show-legends" -> {
                noMore(w, 2);
                page.showLegends = true;
                page.enabled = true;
            }
            case "" -> throw new LineError("'stats' expects 'enable', 'uri', 'refresh', 'auth', 'realm',"
                + " 'hide-version' or 'show-legends'");
            case "admin", "http-request", "scope", "show-desc", "show-node", "show-modules", "bind-process",
                 "socket", "timeout", "maxconn" -> throw new LineError("'stats " + sub + "' is a HAProxy keyword"
                + " that Planetary does not support in a stats page (change servers through the runtime API)");
            default -> throw new LineError("'stats' : unknown keyword '" + sub + "': expects 'enable', 'uri',"
                + " 'refresh', 'auth', 'realm', 'hide-version' or 'show-legends'");
        }
        if (page.first == null) {
            page.first = at;
        }
    }

    private static StatsPageConfig.StatsUser user(String text, Page page) {
        int colon = text.indexOf(':');
        if (colon <= 0) {
            throw new LineError("'stats auth' expects <user>:<password>, got no ':' after a user name");
        }
        String user = text.substring(0, colon);
        String password = text.substring(colon + 1);
        if (password.equals(PLACEHOLDER_PASSWORD)) {
            throw new LineError("'stats auth " + user + ":" + PLACEHOLDER_PASSWORD + "' : '" + PLACEHOLDER_PASSWORD
                + "' is the documentation's placeholder, not a password: choose your own (at least "
                + MIN_PASSWORD_LENGTH + " characters)");
        }
        if (password.length() < MIN_PASSWORD_LENGTH) {
            throw new LineError("'stats auth " + user + ":...' : the password has " + password.length()
                + " characters; at least " + MIN_PASSWORD_LENGTH + " are required");
        }
        for (StatsPageConfig.StatsUser u : page.users) {
            if (u.user().equals(user)) {
                throw new LineError("'stats auth' : user '" + user + "' is already declared in this section");
            }
        }
        return new StatsPageConfig.StatsUser(user, password);
    }

    /**
     * {@code http-request use-service prometheus-exporter [if { path P }]}: the one {@code http-request} rule a
     * stats page takes. Without a condition every request gets the metrics, as in HAProxy.
     */
    static void httpRequest(List<String> w, Page page, Origin at) {
        String usage = "'http-request' : Planetary supports only 'http-request use-service prometheus-exporter"
            + " [if { path <path> }]' (in a stats page section)";
        if (w.size() < 3 || !w.get(1).equals("use-service") || !w.get(2).equals("prometheus-exporter")) {
            throw new LineError(usage);
        }
        if (page.prometheusPath != null || page.prometheusEverywhere) {
            throw new LineError("'http-request use-service prometheus-exporter' is already given in this section");
        }
        if (w.size() == 3) {
            page.prometheusEverywhere = true;
        } else if (w.size() == 7 && w.get(3).equals("if") && w.get(4).equals("{") && w.get(5).equals("path")
            && w.get(6).startsWith("/")) {
            throw new LineError(usage + ": missing '}'");
        } else if (w.size() == 8 && w.get(3).equals("if") && w.get(4).equals("{") && w.get(5).equals("path")
            && w.get(6).startsWith("/") && w.get(7).equals("}")) {
            page.prometheusPath = w.get(6);
        } else {
            throw new LineError(usage);
        }
        if (page.first == null) {
            page.first = at;
        }
    }

    private static String arg(List<String> w, String what) {
        if (w.size() < 3 || w.get(2).isEmpty()) {
            throw new LineError("'stats " + w.get(1) + "' expects " + what);
        }
        return w.get(2);
    }

    private static void noMore(List<String> w, int n) {
        if (w.size() > n) {
            throw new LineError("'stats " + w.get(1) + "' cannot handle unexpected argument '" + w.get(n) + "'");
        }
    }
}
