package dev.planetary.core.config;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a reload changes: the difference between the running config and a newly read one, as the steps the proxy
 * applies in place. Pure: no I/O, no clock. Where a thing was written ({@link Origin}) is never a change: a line
 * inserted above a server moves every later line, and such a server is still the same.
 *
 * <p>The rules, as HAProxy's reload (with a server-state file) behaves seen from outside, but without a new
 * process:
 * <ul>
 *   <li>Listening addresses are matched by address and port, not by bind line: a port in both configs keeps its
 *       socket (no connection waiting in its accept queue is lost), even when another frontend now owns it.</li>
 *   <li>A backend whose balance or hash-type changes is built anew ({@link #rebuiltBackends}); any other backend
 *       is kept and its static servers are edited by name ({@link ServerEdits}).</li>
 *   <li>A static server keeps its live connections, counters and health state when only its weight or
 *       {@code disabled} changed (applied in place, like {@code set weight} and {@code set server state}); any
 *       other change (address, port, backup, maxconn, check settings) replaces it: its live connections finish on
 *       the old one, new connections go to the new one.</li>
 *   <li>A {@code genesis} section is followed anew when its URLs, or a backend that discovers from it, or a
 *       frontend in front of such a backend changed ({@link #genesisToRestart}); servers Genesis gave are never
 *       removed by the diff itself.</li>
 *   <li>{@code nbthread} and {@code loop-priority} cannot change without a new process: they are reported
 *       ({@link #needsNewProcess}) and the running values stay.</li>
 * </ul>
 */
public final class ConfigDiff {

    /** A listening address: a literal host (null for every address) and one port. */
    public record Endpoint(String host, int port) {
        @Override
        public String toString() {
            String h = host == null ? "*" : (host.indexOf(':') >= 0 ? "[" + host + "]" : host);
            return h + ":" + port;
        }
    }

    /**
     * The edits to one kept backend's static servers, applied as one batch (one snapshot).
     *
     * @param removed   names of static servers that are gone (or replaced: see {@code added})
     * @param added     servers to add, including the new version of every replaced server
     * @param weights   kept servers whose weight changed: name to the new weight
     * @param disabled  kept servers whose {@code disabled} flag changed: name to the new flag
     */
    public record ServerEdits(List<String> removed, List<ServerConfig> added, Map<String, Integer> weights,
                              Map<String, Boolean> disabled) {
        public ServerEdits {
            removed = List.copyOf(removed);
            added = List.copyOf(added);
            weights = Map.copyOf(weights);
            disabled = Map.copyOf(disabled);
        }

        public boolean isEmpty() {
            return removed.isEmpty() && added.isEmpty() && weights.isEmpty() && disabled.isEmpty();
        }
    }

    private final ProxyConfig before;
    private final ProxyConfig after;
    private final Map<Endpoint, String> addedEndpoints = new LinkedHashMap<>();
    private final Set<Endpoint> removedEndpoints = new LinkedHashSet<>();
    private final Map<Endpoint, String> movedEndpoints = new LinkedHashMap<>();
    private final List<FrontendConfig> addedFrontends = new ArrayList<>();
    private final List<String> removedFrontends = new ArrayList<>();
    private final List<FrontendConfig> changedFrontends = new ArrayList<>();
    private final List<BackendConfig> addedBackends = new ArrayList<>();
    private final List<String> removedBackends = new ArrayList<>();
    private final List<BackendConfig> rebuiltBackends = new ArrayList<>();
    private final List<BackendConfig> changedBackends = new ArrayList<>();
    private final Map<String, ServerEdits> serverEdits = new LinkedHashMap<>();
    private final Set<String> genesisToRestart = new TreeSet<>();
    private final Set<String> genesisToStop = new TreeSet<>();
    private final List<String> needsNewProcess = new ArrayList<>();

    private ConfigDiff(ProxyConfig before, ProxyConfig after) {
        this.before = before;
        this.after = after;
    }

    /** The steps that turn a proxy running {@code before} into one running {@code after}. */
    public static ConfigDiff between(ProxyConfig before, ProxyConfig after) {
        ConfigDiff d = new ConfigDiff(Objects.requireNonNull(before, "before"), Objects.requireNonNull(after, "after"));
        d.diffGlobal();
        d.diffEndpoints();
        d.diffFrontends();
        d.diffBackends();
        d.diffGenesis();
        return d;
    }

    public ProxyConfig before() { return before; }
    public ProxyConfig after() { return after; }
    /** Ports to open, each with its frontend. */
    public Map<Endpoint, String> addedEndpoints() { return addedEndpoints; }
    /** Ports to stop accepting on (their live connections finish). */
    public Set<Endpoint> removedEndpoints() { return removedEndpoints; }
    /** Ports kept open that now belong to another frontend: the new owner's name. */
    public Map<Endpoint, String> movedEndpoints() { return movedEndpoints; }
    public List<FrontendConfig> addedFrontends() { return addedFrontends; }
    public List<String> removedFrontends() { return removedFrontends; }
    /** Kept frontends with any change (settings, backend or binds): the new config of each. */
    public List<FrontendConfig> changedFrontends() { return changedFrontends; }
    public List<BackendConfig> addedBackends() { return addedBackends; }
    public List<String> removedBackends() { return removedBackends; }
    /** Backends built anew (balance or hash-type changed): their servers start fresh. */
    public List<BackendConfig> rebuiltBackends() { return rebuiltBackends; }
    /** Kept backends with any change: the new config of each (timeouts apply to new connections). */
    public List<BackendConfig> changedBackends() { return changedBackends; }
    /** Static-server edits of kept backends, by backend name (only backends with edits). */
    public Map<String, ServerEdits> serverEdits() { return serverEdits; }
    /** {@code genesis} sections of the new config to follow anew (closing the running follower first, if any). */
    public Set<String> genesisToRestart() { return genesisToRestart; }
    /** {@code genesis} sections of the old config that are gone. */
    public Set<String> genesisToStop() { return genesisToStop; }
    /** Changes that only a new process can make; the running values stay (one sentence each). */
    public List<String> needsNewProcess() { return needsNewProcess; }

    /** True when applying changes nothing (a reload of the same files). */
    public boolean isEmpty() {
        return before.global().maxconn() == after.global().maxconn()
            && before.global().hardStopAfterMs() == after.global().hardStopAfterMs()
            && addedEndpoints.isEmpty() && removedEndpoints.isEmpty() && movedEndpoints.isEmpty()
            && addedFrontends.isEmpty() && removedFrontends.isEmpty() && changedFrontends.isEmpty()
            && addedBackends.isEmpty() && removedBackends.isEmpty() && rebuiltBackends.isEmpty()
            && changedBackends.isEmpty() && genesisToRestart.isEmpty() && genesisToStop.isEmpty();
    }

    /** One line for the log: what the reload changes. */
    public String summary() {
        if (isEmpty()) {
            return "no change";
        }
        List<String> parts = new ArrayList<>();
        count(parts, addedEndpoints.size(), "port(s) opened");
        count(parts, removedEndpoints.size(), "port(s) closed");
        count(parts, movedEndpoints.size(), "port(s) moved to another frontend");
        names(parts, "frontend(s) added", addedFrontends.stream().map(FrontendConfig::name).toList());
        names(parts, "frontend(s) removed", removedFrontends);
        names(parts, "frontend(s) changed", changedFrontends.stream().map(FrontendConfig::name).toList());
        names(parts, "backend(s) added", addedBackends.stream().map(BackendConfig::name).toList());
        names(parts, "backend(s) removed", removedBackends);
        names(parts, "backend(s) rebuilt", rebuiltBackends.stream().map(BackendConfig::name).toList());
        names(parts, "backend(s) changed", changedBackends.stream().map(BackendConfig::name).toList());
        int servers = 0;
        for (ServerEdits e : serverEdits.values()) {
            servers += e.removed().size() + e.added().size() + e.weights().size() + e.disabled().size();
        }
        count(parts, servers, "server edit(s)");
        names(parts, "genesis followed anew", List.copyOf(genesisToRestart));
        names(parts, "genesis stopped", List.copyOf(genesisToStop));
        if (before.global().maxconn() != after.global().maxconn()) {
            parts.add("global maxconn " + before.global().maxconn() + " -> " + after.global().maxconn());
        }
        return String.join(", ", parts);
    }

    private static void count(List<String> parts, int n, String what) {
        if (n > 0) {
            parts.add(n + " " + what);
        }
    }

    private static void names(List<String> parts, String what, List<String> names) {
        if (!names.isEmpty()) {
            parts.add(what + " " + names);
        }
    }

    // ---- the diff ------------------------------------------------------------------------------------------

    private void diffGlobal() {
        if (before.global().nbthread() != after.global().nbthread()) {
            needsNewProcess.add("'nbthread' changed from " + before.global().nbthread() + " to "
                + after.global().nbthread() + ": the event loops stay as they are until a new process takes over"
                + " (-x SOCKET -sf PID)");
        }
        if (before.global().loopPriority() != after.global().loopPriority()) {
            needsNewProcess.add("'loop-priority' changed: the event loops keep their scheduling until a new process"
                + " takes over (-x SOCKET -sf PID)");
        }
    }

    private void diffEndpoints() {
        Map<Endpoint, String> old = endpoints(before);
        Map<Endpoint, String> now = endpoints(after);
        for (Map.Entry<Endpoint, String> e : now.entrySet()) {
            String was = old.get(e.getKey());
            if (was == null) {
                addedEndpoints.put(e.getKey(), e.getValue());
            } else if (!was.equals(e.getValue())) {
                movedEndpoints.put(e.getKey(), e.getValue());
            }
        }
        for (Endpoint e : old.keySet()) {
            if (!now.containsKey(e)) {
                removedEndpoints.add(e);
            }
        }
    }

    /** Every listening address of a config, with the frontend that binds it. */
    public static Map<Endpoint, String> endpoints(ProxyConfig config) {
        Map<Endpoint, String> all = new LinkedHashMap<>();
        for (FrontendConfig fc : config.frontends()) {
            for (Bind b : fc.binds()) {
                for (int port = b.lowPort(); port <= b.highPort(); port++) {
                    all.put(new Endpoint(b.host(), port), fc.name());
                }
            }
        }
        return all;
    }

    private void diffFrontends() {
        Map<String, FrontendConfig> old = new HashMap<>();
        before.frontends().forEach(f -> old.put(f.name(), f));
        Set<String> kept = new HashSet<>();
        for (FrontendConfig f : after.frontends()) {
            FrontendConfig was = old.get(f.name());
            if (was == null) {
                addedFrontends.add(f);
            } else {
                kept.add(f.name());
                if (!sameFrontend(was, f)) {
                    changedFrontends.add(f);
                }
            }
        }
        for (FrontendConfig f : before.frontends()) {
            if (!kept.contains(f.name())) {
                removedFrontends.add(f.name());
            }
        }
    }

    private void diffBackends() {
        Map<String, BackendConfig> old = new HashMap<>();
        before.backends().forEach(b -> old.put(b.name(), b));
        Set<String> kept = new HashSet<>();
        for (BackendConfig b : after.backends()) {
            BackendConfig was = old.get(b.name());
            if (was == null) {
                addedBackends.add(b);
                continue;
            }
            kept.add(b.name());
            if (was.balance() != b.balance() || was.hashType() != b.hashType()) {
                rebuiltBackends.add(b);
                continue;
            }
            ServerEdits edits = serverEdits(was.servers(), b.servers());
            if (!edits.isEmpty()) {
                serverEdits.put(b.name(), edits);
            }
            if (!edits.isEmpty() || !sameBackendSettings(was, b)) {
                changedBackends.add(b);
            }
        }
        for (BackendConfig b : before.backends()) {
            if (!kept.contains(b.name())) {
                removedBackends.add(b.name());
            }
        }
    }

    /** The edits from one list of static servers to another, by server name. */
    static ServerEdits serverEdits(List<ServerConfig> old, List<ServerConfig> now) {
        Map<String, ServerConfig> byName = new HashMap<>();
        old.forEach(s -> byName.put(s.name(), s));
        Set<String> nowNames = new HashSet<>();
        List<String> removed = new ArrayList<>();
        List<ServerConfig> added = new ArrayList<>();
        Map<String, Integer> weights = new LinkedHashMap<>();
        Map<String, Boolean> disabled = new LinkedHashMap<>();
        for (ServerConfig s : now) {
            nowNames.add(s.name());
            ServerConfig was = byName.get(s.name());
            if (was == null) {
                added.add(s);
            } else if (!sameServerIdentity(was, s)) {
                removed.add(s.name()); // replaced: the old one drains, the new one takes new connections
                added.add(s);
            } else {
                if (was.weight() != s.weight()) {
                    weights.put(s.name(), s.weight());
                }
                if (was.disabled() != s.disabled()) {
                    disabled.put(s.name(), s.disabled());
                }
            }
        }
        for (ServerConfig s : old) {
            if (!nowNames.contains(s.name())) {
                removed.add(s.name());
            }
        }
        return new ServerEdits(removed, added, weights, disabled);
    }

    private void diffGenesis() {
        Map<String, GenesisConfig> old = new HashMap<>();
        before.genesis().forEach(g -> old.put(g.name(), g));
        Set<String> nowNames = new HashSet<>();
        for (GenesisConfig g : after.genesis()) {
            nowNames.add(g.name());
            GenesisConfig was = old.get(g.name());
            if (was == null || !was.urls().equals(g.urls())) {
                genesisToRestart.add(g.name());
            }
        }
        for (GenesisConfig g : before.genesis()) {
            if (!nowNames.contains(g.name())) {
                genesisToStop.add(g.name());
            }
        }
        // A follower holds its backends' static servers and discover options and its frontends' binds: anything of
        // those that changed needs a new follower (the old one would put the old static servers back).
        Set<String> touchedBackends = new HashSet<>(removedBackends);
        addedBackends.forEach(b -> touchedBackends.add(b.name()));
        rebuiltBackends.forEach(b -> touchedBackends.add(b.name()));
        changedBackends.forEach(b -> touchedBackends.add(b.name()));
        Set<String> touchedFrontends = new HashSet<>(removedFrontends);
        addedFrontends.forEach(f -> touchedFrontends.add(f.name()));
        changedFrontends.forEach(f -> touchedFrontends.add(f.name()));
        for (ProxyConfig c : List.of(before, after)) {
            for (BackendConfig b : c.backends()) {
                if (b.discover() != null && touchedBackends.contains(b.name())) {
                    restartIfKept(b.discover().genesis(), nowNames);
                }
            }
            for (FrontendConfig f : c.frontends()) {
                if (!touchedFrontends.contains(f.name())) {
                    continue;
                }
                c.backend(f.defaultBackend()).map(BackendConfig::discover)
                    .ifPresent(d -> restartIfKept(d.genesis(), nowNames));
            }
        }
    }

    private void restartIfKept(String genesis, Set<String> nowNames) {
        if (nowNames.contains(genesis)) {
            genesisToRestart.add(genesis);
        }
    }

    // ---- equality without origins ----------------------------------------------------------------------------

    private static boolean sameFrontend(FrontendConfig a, FrontendConfig b) {
        return a.defaultBackend().equals(b.defaultBackend()) && a.maxconn() == b.maxconn()
            && a.clientTimeoutMs() == b.clientTimeoutMs() && a.clientFinTimeoutMs() == b.clientFinTimeoutMs()
            && Objects.equals(a.pinPorts() == null ? null : a.pinPorts().kind(),
                b.pinPorts() == null ? null : b.pinPorts().kind())
            && endpointsOf(a).equals(endpointsOf(b));
    }

    private static List<String> endpointsOf(FrontendConfig f) {
        return f.binds().stream().map(Bind::toString).sorted().toList();
    }

    private static boolean sameBackendSettings(BackendConfig a, BackendConfig b) {
        return a.connectTimeoutMs() == b.connectTimeoutMs() && a.serverTimeoutMs() == b.serverTimeoutMs()
            && a.queueTimeoutMs() == b.queueTimeoutMs() && a.serverFinTimeoutMs() == b.serverFinTimeoutMs()
            && a.retries() == b.retries() && a.redispatch() == b.redispatch()
            && sameDiscover(a.discover(), b.discover());
    }

    private static boolean sameDiscover(DiscoverConfig a, DiscoverConfig b) {
        if (a == null || b == null) {
            return a == b;
        }
        return a.genesis().equals(b.genesis()) && a.service().equals(b.service()) && a.options().equals(b.options());
    }

    /** Same server but perhaps for weight and disabled, which change in place. */
    private static boolean sameServerIdentity(ServerConfig a, ServerConfig b) {
        return a.host().equals(b.host()) && a.port() == b.port() && a.check() == b.check()
            && a.interMs() == b.interMs() && a.rise() == b.rise() && a.fall() == b.fall()
            && a.maxconn() == b.maxconn() && a.backup() == b.backup();
    }
}
