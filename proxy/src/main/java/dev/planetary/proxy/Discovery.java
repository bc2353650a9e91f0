package dev.planetary.proxy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.BackendConfig;
import dev.planetary.core.config.DiscoverConfig;
import dev.planetary.core.config.FrontendConfig;
import dev.planetary.core.config.GenesisConfig;
import dev.planetary.core.config.PinPorts;
import dev.planetary.core.config.ServerConfig;
import dev.planetary.registry.client.PortPlanInfo;
import dev.planetary.registry.client.Reservation;
import dev.planetary.registry.client.SwarmListener;
import dev.planetary.registry.client.SwarmView;
import dev.planetary.registry.client.SwarmWatch;
import dev.planetary.registry.client.VmInfo;
import dev.planetary.registry.client.WatchOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * Follows one {@code genesis NAME} section: the backends that {@code discover genesis NAME service SVC} get the
 * swarm's VMs as servers, and the frontends that {@code pin-ports KIND} in front of them get their pin tables.
 *
 * <p>One owner thread applies each view of the swarm ({@link SwarmWatch} hands them over whole, newest first when
 * they come faster than they are applied): per backend one {@link ProxyBackend#relist} (one snapshot, one rebuild of its balancer tables, off the event loops, and none at all when the backend's
 * servers did not change), then per pinning frontend one new {@link PinTable}, published whole.
 *
 * <p>Rules: a VM that is active or draining and declares the service is a server named by its VM id, at its ip and
 * that service's port, with the backend's {@code default-server} options; a draining VM's server is drained (no new
 * connections, live ones finish); a VM that is gone leaves the backend without its live connections being touched,
 * and the ports it held stay closed while Genesis keeps them reserved (a late client must not reach another VM),
 * after which they are balanced like any port no VM holds.
 *
 * <p><b>Reservations come from Genesis</b> ({@link SwarmView#reservations()}: its snapshot's {@code grace} list, a
 * {@code removed} VM's ports, until their {@code released} change), so a proxy that starts or relists after a VM was
 * removed still keeps its ports closed, and every proxy opens them at the moment Genesis may give them to another
 * VM, not on a clock of its own. Only a Genesis that lists no reservations ({@link SwarmView#graceServed()} false)
 * leaves the proxy to time grace itself, from the moment it sees the VM go, for the plan's {@code grace_ms}: such a
 * Genesis sends no {@code released} change either, so without the local timer its ports would be balanced at once.
 *
 * <p><b>Static stability:</b> while Genesis cannot be reached nothing is removed (the last view stays in force, its
 * reservations included, said once in the log and readable through {@link #stale()}); health checks go on as
 * configured.
 */
public final class Discovery implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Discovery.class);

    /**
     * Fallback only (a Genesis that lists no reservations): how long a gone VM's ports stay closed when Genesis does
     * not serve its port plan either: Genesis' own default {@code --grace}, so that the proxy never opens a port to
     * balancing before Genesis could give it to a new VM.
     */
    static final long DEFAULT_GRACE_MS = 60_000;

    /** A discovering backend: its servers are {@code statics} plus one per VM that declares the service. */
    private record Target(ProxyBackend backend, DiscoverConfig discover, List<ServerConfig> statics,
                          Set<String> staticNames) {
    }

    /** A pinning frontend in front of a discovering backend of this Genesis. */
    private record Pinning(Frontend frontend, Target target, PinPorts pin) {
    }

    /** A VM that left the view, remembered until its ports' grace period ends (fallback: see the class comment). */
    private record Gone(VmInfo vm, long untilNanos) {
    }

    /**
     * What a backend was last given (besides its static servers): the VMs that are its servers, in order, and the
     * draining ones' ids, so that a view that changes nothing for it costs nothing. The VMs are the view's own
     * objects: no copy, and no config per server (issue 8: what a relist keeps is copied by the young collections).
     */
    private record Applied(List<VmInfo> vms, Set<String> drain) {
    }

    private final GenesisConfig config;
    private final List<Target> targets = new ArrayList<>();
    private final List<Pinning> pinnings = new ArrayList<>();
    private final LongSupplier clock;
    private final ScheduledExecutorService owner;
    private final AtomicReference<SwarmView> pending = new AtomicReference<>();
    private volatile SwarmWatch watch;

    // ---- owned by the owner thread ----
    private SwarmView lastView = SwarmView.EMPTY;
    private Map<String, VmInfo> applied = Map.of();
    private final Map<String, Gone> gone = new HashMap<>();
    private final Map<Target, Applied> lastApplied = new HashMap<>();
    private final Set<String> warned = new HashSet<>();
    private ScheduledFuture<?> graceTimer;
    private long staleSinceNanos;

    // ---- published for the stats page and tests (single writer: the owner thread) ----
    private volatile boolean stale;
    private volatile long staleEpisodes;
    private volatile long heldRemovals;
    private volatile long viewsApplied;
    private volatile long version;
    private volatile int vms;
    private volatile long lastApplyNanos;
    private volatile long maxApplyNanos;

    Discovery(GenesisConfig config, Proxy proxy, LongSupplier clock) {
        this.config = config;
        this.clock = clock;
        Map<ProxyBackend, Target> byBackend = new LinkedHashMap<>();
        for (ProxyBackend b : proxy.backends()) {
            BackendConfig bc = b.config();
            DiscoverConfig d = bc.discover();
            if (d != null && d.genesis().equals(config.name())) {
                Set<String> names = new HashSet<>();
                bc.servers().forEach(s -> names.add(s.name()));
                Target t = new Target(b, d, bc.servers(), Set.copyOf(names));
                targets.add(t);
                byBackend.put(b, t);
                lastApplied.put(t, new Applied(List.of(), Set.of())); // what the backend starts with: statics
            }
        }
        // a consistent-hash table is rebuilt whole when servers change (a few hundred ms): those backends go last
        targets.sort(java.util.Comparator.comparing(t -> t.backend().config().balance()
            == dev.planetary.core.config.BalanceAlgorithm.SOURCE
            && t.backend().config().hashType() == dev.planetary.core.config.HashType.CONSISTENT));
        for (Frontend f : proxy.frontends()) {
            FrontendConfig fc = f.config();
            Target t = byBackend.get(f.backend());
            if (fc.pinPorts() != null && t != null && !fc.binds().isEmpty()) {
                pinnings.add(new Pinning(f, t, fc.pinPorts()));
            }
        }
        this.owner = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread th = new Thread(r, "planetary-discovery-" + config.name());
            th.setDaemon(true);
            return th;
        });
    }

    /** True when some backend of the proxy discovers its servers from this Genesis. */
    boolean used() {
        return !targets.isEmpty();
    }

    /** Starts following Genesis; returns at once (the backends fill as soon as the first view arrives). */
    void start(WatchOptions options) {
        LOG.info("genesis '{}': following {} for {} backend(s){}", config.name(), config.urls(), targets.size(),
            pinnings.isEmpty() ? "" : " and the pinned ports of " + pinnings.size() + " frontend(s)");
        watch = SwarmWatch.start(config.urls(), new SwarmListener() {
            @Override
            public void onView(SwarmView view) {
                offer(view);
            }

            @Override
            public void onStale(boolean isStale, String reason) {
                owner.execute(() -> staleChanged(isStale, reason, clock.getAsLong()));
            }
        }, options);
    }

    /** Hands a view to the owner thread; views that arrive while one is being applied are skipped but the newest. */
    void offer(SwarmView view) {
        if (pending.getAndSet(view) == null) {
            owner.execute(() -> {
                SwarmView v = pending.getAndSet(null);
                if (v != null) {
                    apply(v, clock.getAsLong());
                }
            });
        }
    }

    /** Runs {@code task} on the owner thread and waits for it (tests: apply views and read state in order). */
    void onOwner(Runnable task) {
        try {
            owner.submit(task).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("discovery task failed", e);
        }
    }

    // ---- the owner thread ------------------------------------------------------------------------------------

    void staleChanged(boolean isStale, String reason, long nowNanos) {
        if (isStale == stale) {
            return;
        }
        stale = isStale;
        if (isStale) {
            staleSinceNanos = nowNanos;
            staleEpisodes++;
            LOG.warn("genesis '{}': cannot reach Genesis ({}); serving the last view (version {}, {} VMs): nothing"
                + " is removed until it answers again, health checks go on", config.name(), reason, version, vms);
        } else {
            LOG.info("genesis '{}': Genesis answers again after {} ms ({})", config.name(),
                TimeUnit.NANOSECONDS.toMillis(nowNanos - staleSinceNanos), reason);
            apply(lastView, nowNanos); // removals held back while stale take effect now
        }
    }

    /** Applies one view of the swarm to every discovering backend and pinning frontend of this Genesis. */
    void apply(SwarmView view, long nowNanos) {
        long t0 = System.nanoTime();
        lastView = view;
        // the view's own (immutable, sorted) map unless removals are held back: no copy of 1,999 entries per view
        Map<String, VmInfo> effective = view.vms();
        long held = 0;
        if (stale) {
            Map<String, VmInfo> withHeld = new TreeMap<>(view.vms());
            for (VmInfo vm : applied.values()) {
                if (withHeld.putIfAbsent(vm.id(), vm) == null) {
                    held++;
                }
            }
            effective = withHeld;
        }
        Map<String, VmInfo> current = effective;
        if (view.graceServed()) {
            gone.clear(); // Genesis says which ports are reserved: view.reservations()
        } else {
            long graceNanos = TimeUnit.MILLISECONDS.toNanos(view.portPlan().map(PortPlanInfo::graceMillis)
                .filter(ms -> ms >= 0).orElse(DEFAULT_GRACE_MS));
            for (VmInfo vm : applied.values()) {
                if (!effective.containsKey(vm.id())) {
                    gone.put(vm.id(), new Gone(vm, nowNanos + graceNanos));
                }
            }
            gone.values().removeIf(g -> current.containsKey(g.vm().id()) || nowNanos - g.untilNanos() >= 0);
        }
        applied = effective;
        Map<String, Reservation> reserved = view.reservations();

        PortPlanInfo plan = view.portPlan().orElse(null);
        // First the ports of VMs that are new here close (they are held now, but their servers are not in the
        // backend yet), so that in the instant between the backend swap and the final tables a connection to a new
        // VM's port is refused rather than balanced to another VM; then the swap; then the final tables.
        for (Pinning p : pinnings) {
            pin(p, effective, discovered(p.target(), effective), reserved, plan);
        }
        List<String> changes = new ArrayList<>();
        for (Target t : targets) { // cheap backends first: a consistent-hash rebuild delays only its own backend
            String change = applyTo(t, effective);
            if (change != null) {
                changes.add(change);
            }
            for (Pinning p : pinnings) {
                if (p.target() == t) {
                    pin(p, effective, discovered(t, effective), reserved, plan);
                }
            }
        }
        for (String change : changes) {
            LOG.info("genesis '{}' version {}: {}{}", config.name(), view.version(), change,
                stale ? "; removals held while Genesis is unreachable" : "");
        }
        scheduleGraceEnd(nowNanos);

        heldRemovals = held;
        version = view.version();
        vms = effective.size();
        viewsApplied++;
        long took = System.nanoTime() - t0;
        lastApplyNanos = took;
        maxApplyNanos = Math.max(maxApplyNanos, took);
    }

    /** One backend: a single relist when its servers changed. Returns what changed, or null. */
    private String applyTo(Target t, Map<String, VmInfo> effective) {
        String service = t.discover().service();
        List<VmInfo> found = new ArrayList<>(effective.size());
        Set<String> drain = new HashSet<>();
        for (VmInfo vm : effective.values()) {
            int port = vm.service(service);
            if (port < 1 || port > 65535) {
                continue;
            }
            if (t.staticNames().contains(vm.id())) {
                warnOnce("name:" + t.backend().name() + "/" + vm.id(), "backend '{}': VM {} has the name of a static"
                    + " server; the static server is kept and the VM is not used", t.backend().name(), vm.id());
                continue;
            }
            found.add(vm);
            if (vm.state() == VmInfo.State.DRAINING) {
                drain.add(vm.id());
            }
        }
        Applied before = lastApplied.get(t);
        if (drain.equals(before.drain()) && sameServers(before.vms(), found, service)) {
            return null;
        }
        ProxyBackend pb = t.backend();
        List<ProxyBackend.Wanted> wanted = new ArrayList<>(t.statics().size() + found.size());
        for (ServerConfig sc : t.statics()) {
            wanted.add(pb.wanted(sc));
        }
        for (VmInfo vm : found) {
            wanted.add(pb.discovered(t.discover(), vm.id(), vm.ip(), vm.service(service)));
        }
        pb.relist(wanted, drain);
        lastApplied.put(t, new Applied(found, drain));
        return "backend '" + pb.name() + "' has " + found.size() + " servers from Genesis (" + drain.size()
            + " draining)";
    }

    /** True when two lists of VMs describe the same servers of a service, in the same order: ids, ips and ports. */
    private static boolean sameServers(List<VmInfo> before, List<VmInfo> now, String service) {
        if (before.size() != now.size()) {
            return false;
        }
        for (int i = 0; i < now.size(); i++) {
            VmInfo a = before.get(i);
            VmInfo b = now.get(i);
            if (a != b && !(a.id().equals(b.id()) && a.ip().equals(b.ip()) && a.service(service) == b.service(service))) {
                return false;
            }
        }
        return true;
    }

    /** The backend's servers that stand for VMs of the view, by VM id (static servers of the same name excluded). */
    private static Map<String, Server> discovered(Target t, Map<String, VmInfo> effective) {
        List<Server> servers = t.backend().servers();
        Map<String, Server> byName = new HashMap<>(servers.size() * 2);
        for (Server s : servers) {
            if (effective.containsKey(s.name()) && !t.staticNames().contains(s.name())) {
                byName.put(s.name(), s);
            }
        }
        return byName;
    }

    /**
     * One frontend's pin table: VMs' ports to their servers, reserved (or, as a fallback, recently gone) VMs' ports
     * closed, every other port balanced. A port both held by a VM and reserved goes to the VM (the holder wins).
     */
    private void pin(Pinning p, Map<String, VmInfo> effective, Map<String, Server> servers,
                     Map<String, Reservation> reserved, PortPlanInfo plan) {
        FrontendConfig fc = p.frontend().config();
        String kind = p.pin().kind().wire();
        PinTable.Builder table = PinTable.builder(p.frontend(), fc.lowPort(), fc.highPort());
        int unbound = 0;
        int firstUnbound = -1;
        for (VmInfo vm : effective.values()) {
            int port = vm.port(kind);
            if (port < 0) {
                continue;
            }
            if (!fc.binds(port)) {
                unbound++;
                firstUnbound = firstUnbound < 0 ? port : firstUnbound;
                continue;
            }
            Server s = servers.get(vm.id());
            table.pin(port, s != null ? s : PinTable.CLOSED);
        }
        for (Reservation r : reserved.values()) {
            int port = r.port(kind);
            if (port >= 0 && fc.binds(port)) {
                table.close(port);
            }
        }
        for (Gone g : gone.values()) {
            int port = g.vm().port(kind);
            if (port >= 0 && fc.binds(port)) {
                table.close(port);
            }
        }
        p.frontend().pins = table.build();
        if (unbound > 0) {
            warnOnce("unbound:" + fc.name(), "frontend '{}' {}: 'pin-ports {}': Genesis assigned {} port(s) that this"
                + " frontend does not bind (first: {}); connections to them cannot arrive here", fc.name(),
                p.pin().origin(), kind, unbound, firstUnbound);
        }
        PortPlanInfo.Range range = plan == null ? null : plan.range(kind);
        if (range != null && !warned.contains("plan:" + fc.name())) { // a range check per view until it warned
            int missing = 0;
            for (int port = range.low() + 1; port <= range.high(); port++) { // the first is the entrance port
                if (!fc.binds(port)) {
                    missing++;
                }
            }
            if (missing > 0) {
                warnOnce("plan:" + fc.name(), "frontend '{}' {}: 'pin-ports {}': Genesis assigns {} ports {}-{} but"
                    + " {} of them are not bound by this frontend", fc.name(), p.pin().origin(), kind, kind,
                    range.low() + 1, range.high(), missing);
            }
        }
    }

    /**
     * Fallback timer (a Genesis that lists no reservations): re-applies the last view when the earliest locally
     * timed grace period ends, so its ports go back to balancing. Never armed while Genesis lists reservations.
     */
    private void scheduleGraceEnd(long nowNanos) {
        if (graceTimer != null) {
            graceTimer.cancel(false);
            graceTimer = null;
        }
        long first = Long.MAX_VALUE;
        for (Gone g : gone.values()) {
            first = Math.min(first, g.untilNanos() - nowNanos);
        }
        if (first != Long.MAX_VALUE && !pinnings.isEmpty()) {
            graceTimer = owner.schedule(() -> apply(lastView, clock.getAsLong()), Math.max(0, first),
                TimeUnit.NANOSECONDS);
        }
    }

    private void warnOnce(String key, String format, Object... args) {
        if (warned.add(key)) {
            LOG.warn(format + " (logged once)", args);
        }
    }

    // ---- readable from any thread (stats page, tests) --------------------------------------------------------

    public String name() { return config.name(); }
    public GenesisConfig config() { return config; }
    /** True while Genesis cannot be reached and the last view is served as it was. */
    public boolean stale() { return stale; }
    /** Times Genesis became unreachable. */
    public long staleEpisodes() { return staleEpisodes; }
    /** VMs kept in the last applied view only because Genesis could not be reached. */
    public long heldRemovals() { return heldRemovals; }
    public long viewsApplied() { return viewsApplied; }
    /** Genesis' version of the last applied view. */
    public long version() { return version; }
    /** VMs in the last applied view. */
    public int vmCount() { return vms; }
    public long lastApplyNanos() { return lastApplyNanos; }
    public long maxApplyNanos() { return maxApplyNanos; }
    /** The watch (null before {@link #start}). */
    public SwarmWatch watch() { return watch; }

    @Override
    public void close() {
        SwarmWatch w = watch;
        if (w != null) {
            w.close();
        }
        owner.shutdownNow();
        try {
            owner.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
