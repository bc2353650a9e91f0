package dev.planetary.proxy;

import dev.planetary.core.backend.Backend;
import dev.planetary.core.backend.BackendChange;
import dev.planetary.core.backend.Server;
import dev.planetary.core.config.BackendConfig;
import dev.planetary.core.config.ConfigDiff;
import dev.planetary.core.config.ConfigDiff.Endpoint;
import dev.planetary.core.config.FrontendConfig;
import dev.planetary.core.config.ProxyConfig;
import dev.planetary.core.config.ServerConfig;
import io.netty.channel.Channel;
import io.netty.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Applies a reload to a running {@link Proxy}: the steps {@link ConfigDiff} computed, in an order that loses no
 * connection and leaves everything as it was when a step cannot be taken.
 *
 * <ol>
 *   <li>Refusals first, before anything changes: the descriptor budget of the new config, then the new ports are
 *       bound (not yet accepting); a port that cannot be bound refuses the whole reload and the ports just bound
 *       are closed again.</li>
 *   <li>Followers of Genesis that must be followed anew stop (so that none puts old static servers back).</li>
 *   <li>Backends: new ones are built; kept ones take their new settings and their static-server edits as one batch
 *       on the control agent (one snapshot: unchanged servers keep their connections, counters and health); a
 *       backend whose balance changed is built anew, seeded with the servers Genesis gave it.</li>
 *   <li>Frontends: kept ones take their new settings in place (counters and live count stay), new ones are made;
 *       then everything is published whole, the new ports are given their frontends and start accepting, ports
 *       moved to another frontend keep their sockets, and removed ports stop accepting (their live connections
 *       finish: a session never needs its listener).</li>
 *   <li>Health checks start for new backends; removed and replaced backends give up their servers (their checks
 *       stop, their live connections finish); the Genesis followers start again.</li>
 * </ol>
 */
public final class InPlaceReload {

    private static final Logger LOG = LoggerFactory.getLogger(InPlaceReload.class);

    /** Why a reload was not applied; nothing changed. */
    public static final class Refused extends Exception {
        public Refused(String message) {
            super(message, null, false, false);
        }
    }

    /** Longest wait for a removed port's sockets to close (an event-loop task each; milliseconds normally). */
    private static final long CLOSE_WAIT_MS = 10_000;

    private final Proxy proxy;
    private final ProxyConfig next;
    private final ConfigDiff diff;

    InPlaceReload(Proxy proxy, ProxyConfig next) {
        this.proxy = proxy;
        this.next = next;
        this.diff = ConfigDiff.between(proxy.config(), next);
    }

    String apply() throws Refused {
        for (String w : diff.needsNewProcess()) {
            LOG.warn("reload: {}", w);
        }
        if (diff.isEmpty()) {
            return diff.summary();
        }
        int maxconn = checkBudget();
        Map<Endpoint, Proxy.Route> opened = openNewPorts();
        proxy.reconfigureStats(next); // kept sections keep their counters; new backends and frontends take new ones

        // followers of Genesis that will be followed anew stop before any server changes
        Set<String> stopGenesis = new HashSet<>(diff.genesisToRestart());
        stopGenesis.addAll(diff.genesisToStop());
        Discoveries discoveries = proxy.followers().without(stopGenesis);
        proxy.followers(discoveries);

        Map<String, ProxyBackend> old = new LinkedHashMap<>();
        proxy.backends().forEach(b -> old.put(b.name(), b));
        Map<String, ProxyBackend> backends = new LinkedHashMap<>();
        List<ProxyBackend> fresh = new ArrayList<>();
        List<ProxyBackend> retired = new ArrayList<>();
        Set<String> rebuilt = new HashSet<>();
        diff.rebuiltBackends().forEach(b -> rebuilt.add(b.name()));
        for (BackendConfig bc : next.backends()) {
            ProxyBackend was = old.get(bc.name());
            if (was == null || rebuilt.contains(bc.name())) {
                ProxyBackend pb = new ProxyBackend(bc, proxy.control(), proxy.stats().backend(bc.name()));
                if (was != null) {
                    seedDiscovered(was, pb, bc);
                    retired.add(was);
                }
                fresh.add(pb);
                backends.put(bc.name(), pb);
            } else {
                boolean stopsDiscovering = was.config().discover() != null && bc.discover() == null;
                was.config(bc);
                ConfigDiff.ServerEdits edits = diff.serverEdits().get(bc.name());
                if (edits != null) {
                    edit(was, edits);
                }
                if (stopsDiscovering) {
                    // no follower will remove the servers Genesis gave: the backend keeps its static ones only
                    was.replaceServers(bc.servers());
                }
                backends.put(bc.name(), was);
            }
        }
        for (String name : diff.removedBackends()) {
            retired.add(old.get(name));
        }

        Map<String, Frontend> frontends = new LinkedHashMap<>();
        for (FrontendConfig fc : next.frontends()) {
            Frontend f = proxy.frontend(fc.name());
            ProxyBackend b = backends.get(fc.defaultBackend());
            if (f == null) {
                f = proxy.newFrontend(fc, b);
            } else {
                proxy.attachObservers(f, fc);
                f.reconfigure(fc, b); // every kept one: its backend's timeouts may have changed
            }
            frontends.put(fc.name(), f);
        }
        proxy.publish(next, backends, frontends, maxconn);
        proxy.global().max(maxconn);
        routePorts(opened, frontends);

        for (ProxyBackend pb : fresh) {
            pb.attachHealth(proxy.health());
        }
        for (ProxyBackend pb : retired) {
            pb.replaceServers(List.of()); // checks stop; live connections finish on the servers they hold
        }
        proxy.followers(discoveries.with(proxy, diff.genesisToRestart()));
        return diff.summary();
    }

    /** The global maxconn of the new config, refusing it when the descriptors it needs exceed the limit. */
    private int checkBudget() throws Refused {
        int sockets = Proxy.socketsFor(next, proxy.threads(), proxy.transport());
        long limit = FdBudget.limit();
        int maxconn = next.global().maxconn();
        if (maxconn == 0) {
            maxconn = limit > 0 ? FdBudget.derivedMaxconn(sockets, limit) : proxy.maxconn();
        }
        if (limit > 0 && (maxconn < 1 || FdBudget.needed(sockets, maxconn) > limit)) {
            throw new Refused(FdBudget.refusal(next.listenerCount(), sockets, Math.max(1, maxconn), limit));
        }
        return maxconn;
    }

    /** Binds the new ports (not accepting yet); refuses the reload, closing them again, if one cannot listen. */
    private Map<Endpoint, Proxy.Route> openNewPorts() throws Refused {
        Map<Endpoint, String> added = diff.addedEndpoints();
        if (added.isEmpty()) {
            return Map.of();
        }
        List<Proxy.Listen> plan = Proxy.listenPlan(next, proxy.threads(), proxy.transport(), added::containsKey);
        Future<?>[] listening = proxy.transport() == Transport.EPOLL ? Proxy.listenAll(plan) : null;
        Map<Endpoint, Proxy.Route> opened = new ConcurrentHashMap<>();
        List<String> failures;
        try {
            Proxy.Binds binds = proxy.startBinds(next, plan, listening, opened);
            failures = proxy.awaitBinds(binds, opened, Map.of(), false);
        } catch (RuntimeException e) {
            closeRoutes(opened);
            Proxy.closeAll(listening);
            throw e;
        }
        if (!failures.isEmpty()) {
            closeRoutes(opened);
            throw new Refused(Proxy.bindFailures(failures, added.size()));
        }
        return opened;
    }

    private static void closeRoutes(Map<Endpoint, Proxy.Route> routes) {
        for (Proxy.Route r : routes.values()) {
            r.sockets.forEach(Channel::close);
        }
    }

    /** New ports get their frontend and open; moved ports change frontend; removed ports stop accepting. */
    private void routePorts(Map<Endpoint, Proxy.Route> opened, Map<String, Frontend> frontends) {
        AcceptGate gate = proxy.gate();
        Map<Endpoint, Proxy.Route> routes = proxy.routes();
        for (Map.Entry<Endpoint, Proxy.Route> e : opened.entrySet()) {
            Proxy.Route r = e.getValue();
            r.frontend = frontends.get(diff.addedEndpoints().get(e.getKey()));
            for (Channel ch : r.sockets) {
                gate.add(ch, r.frontend);
            }
            routes.put(e.getKey(), r);
        }
        for (Map.Entry<Endpoint, String> e : diff.movedEndpoints().entrySet()) {
            Proxy.Route r = routes.get(e.getKey());
            if (r != null) {
                r.frontend = frontends.get(e.getValue());
                for (Channel ch : r.sockets) {
                    gate.remove(ch);
                    gate.add(ch, r.frontend);
                }
            }
        }
        List<io.netty.channel.ChannelFuture> closing = new ArrayList<>();
        for (Endpoint e : diff.removedEndpoints()) {
            Proxy.Route r = routes.remove(e);
            if (r != null) {
                for (Channel ch : r.sockets) {
                    gate.remove(ch);
                    closing.add(ch.close());
                }
            }
        }
        gate.reconcile();
        for (io.netty.channel.ChannelFuture f : closing) { // applied means: a removed port refuses from now on
            f.awaitUninterruptibly(CLOSE_WAIT_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    /** A kept backend's static-server edits as one batch on the control agent: one snapshot. */
    private static void edit(ProxyBackend pb, ConfigDiff.ServerEdits edits) {
        List<ControlAgent.Change> batch = new ArrayList<>();
        for (String name : edits.removed()) {
            batch.add(change(pb, new BackendChange.Remove(name), ProxyBackend.Configs.NONE));
        }
        for (ServerConfig sc : edits.added()) {
            Server s = ProxyBackend.newServer(sc);
            batch.add(change(pb, new BackendChange.Add(s), new ProxyBackend.Configs(List.of(s), List.of(sc))));
        }
        edits.weights().forEach((name, w) ->
            batch.add(change(pb, new BackendChange.Weight(name, w), ProxyBackend.Configs.NONE)));
        edits.disabled().forEach((name, off) -> batch.add(change(pb,
            new BackendChange.Admin(name, off ? Server.Admin.MAINT : Server.Admin.READY), ProxyBackend.Configs.NONE)));
        List<Backend.Outcome> outcomes = new ArrayList<>();
        pb.control().run(() -> outcomes.addAll(pb.applyBatch(batch))).join();
        for (Backend.Outcome o : outcomes) {
            if (o.error() != null) { // e.g. a server the runtime API removed meanwhile: the rest still applies
                LOG.warn("reload: backend '{}': {}", pb.name(), o.error().getMessage());
            }
        }
    }

    private static ControlAgent.Change change(ProxyBackend pb, BackendChange c, ProxyBackend.Configs cfgs) {
        return new ControlAgent.Change(pb, c, cfgs, new CompletableFuture<>());
    }

    /**
     * A backend built anew keeps the servers Genesis gave the old one (same names, addresses and registry drain)
     * until its follower's first view, so that a balance change does not empty a discovering backend meanwhile.
     */
    private static void seedDiscovered(ProxyBackend was, ProxyBackend pb, BackendConfig bc) {
        if (bc.discover() == null) {
            return;
        }
        Set<String> statics = new HashSet<>();
        bc.servers().forEach(s -> statics.add(s.name()));
        // described, not configured: a discovered server keeps no ServerConfig of its own (issue 8), seeded or not
        List<ProxyBackend.Wanted> wanted = new ArrayList<>(was.servers().size() + bc.servers().size());
        for (ServerConfig sc : bc.servers()) {
            wanted.add(pb.wanted(sc));
        }
        Set<String> drain = new HashSet<>();
        for (Server s : was.servers()) {
            if (!statics.contains(s.name())) {
                String ip = s.literal() != null ? s.literal() : s.address().getAddress().getHostAddress();
                wanted.add(pb.discovered(bc.discover(), s.name(), ip, s.port())); // no address object made for it
                if (s.discoveryDrain()) {
                    drain.add(s.name());
                }
            }
        }
        pb.relist(wanted, drain);
    }
}
