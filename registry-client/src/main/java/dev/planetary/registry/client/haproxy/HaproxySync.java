package dev.planetary.registry.client.haproxy;

import dev.planetary.registry.client.SwarmListener;
import dev.planetary.registry.client.SwarmView;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a running HAProxy equal to the swarm: follows a {@code SwarmWatch} (as its listener) and, on its own single
 * thread, connects to the socket, reads what HAProxy holds ({@code show servers state}, {@code show map}), compares it with what the newest
 * view wants ({@link Desired}) and sends only the differences through the runtime API. Reading HAProxy's state on
 * each pass, instead of remembering what was sent, is what makes a restarted or reloaded HAProxy (new pid, servers
 * gone) get the whole view again with no special case, and a refused command simply tried again on the next pass.
 *
 * <p>Passes run on a new view and every {@code resyncInterval} (a command refused because a server still has
 * connections, a socket that went away): one try per interval at most, never a hot loop. Each change is logged once,
 * in one line; a refusal is logged once with HAProxy's answer until the answer changes or the command succeeds.
 * When Genesis is unreachable nothing happens: the last view stays, and so do HAProxy's servers.
 */
public final class HaproxySync implements SwarmListener, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(HaproxySync.class);

    /** Servers this sync owns are named by Genesis' VM ids; any other server in a backend is the operator's. */
    static final String MANAGED_PREFIX = "vm_";
    private static final int ADMF_FMAINT = 0x01;
    private static final int ADMF_FDRAIN = 0x08;

    /** What the sync needs: the socket, backend to service, the pinned map's file, and its timings. */
    public record Options(Path socket, Map<String, String> backends, Path pinnedMap, Duration commandTimeout,
                          Duration resyncInterval) {
        /**
         * HAProxy answers a runtime command in microseconds; 5 s means it is stuck (or the machine is), and the pass
         * gives up and reconnects instead of hanging.
         */
        public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(5);
        /**
         * A pass at least this often: a removed VM's server is deleted within 2 s of its last connection closing, a
         * restarted HAProxy is re-applied within 2 s, and an idle pass costs a handful of local commands.
         */
        public static final Duration DEFAULT_RESYNC_INTERVAL = Duration.ofSeconds(2);

        public Options {
            Objects.requireNonNull(socket, "socket");
            backends = Map.copyOf(backends);
            Objects.requireNonNull(pinnedMap, "pinnedMap");
        }
    }

    private final Options options;
    private final AtomicReference<SwarmView> latest = new AtomicReference<>();
    private final Semaphore wake = new Semaphore(0);
    private final Thread thread;
    private volatile boolean closed;

    // owned by the sync thread
    private RuntimeApi api;
    private String identity;
    private String unreachable;
    private final Map<String, String> refusals = new HashMap<>();
    private String writtenPins;

    private final AtomicLong passes = new AtomicLong();
    private final AtomicLong changes = new AtomicLong();
    private final AtomicLong restartsSeen = new AtomicLong();
    private final AtomicLong refusalsLogged = new AtomicLong();
    private volatile long appliedVersion = -1;

    private HaproxySync(Options options) {
        this.options = options;
        this.thread = new Thread(this::run, "haproxy-sync");
        this.thread.setDaemon(true);
    }

    public static HaproxySync start(Options options) {
        HaproxySync s = new HaproxySync(options);
        s.thread.start();
        return s;
    }

    @Override
    public void onView(SwarmView view) {
        latest.set(view);
        wake.release();
    }

    @Override
    public void onStale(boolean stale, String reason) {
        // static stability: HAProxy keeps what it has; the watch logs the transition itself
    }

    /** Passes run so far. */
    public long passes() {
        return passes.get();
    }

    /** Runtime commands that changed HAProxy. */
    public long changes() {
        return changes.get();
    }

    /** Times a new HAProxy process (restart, reload) was found behind the socket, the first connection excluded. */
    public long restartsSeen() {
        return restartsSeen.get();
    }

    /** Refusals logged (each refused command once, until its answer changes or it succeeds). */
    public long refusals() {
        return refusalsLogged.get();
    }

    /** The version of the last view applied completely (no refusal left), -1 before. */
    public long appliedVersion() {
        return appliedVersion;
    }

    private void run() {
        while (!closed) {
            try {
                wake.tryAcquire(options.resyncInterval().toMillis(), TimeUnit.MILLISECONDS);
                wake.drainPermits();
            } catch (InterruptedException e) {
                break;
            }
            if (closed) {
                break;
            }
            SwarmView view = latest.get();
            if (view == null) {
                continue; // nothing heard from Genesis yet: never empty HAProxy on a guess
            }
            try {
                pass(view);
                if (unreachable != null) {
                    LOG.info("HAProxy's socket {} answers again", options.socket());
                    unreachable = null;
                }
            } catch (IOException | UncheckedIOException e) {
                onFailure(e.getMessage());
            } catch (RuntimeException e) {
                onFailure("unexpected answer: " + e); // an answer this code cannot read: once, not per pass
            } finally {
                // a connection per pass: after a reload (master-worker) an open connection would still reach the
                // old worker until it ends, and the new one would be left without servers
                dropConnection();
            }
        }
        dropConnection();
    }

    private void onFailure(String why) {
        if (!Objects.equals(why, unreachable)) {
            LOG.warn("HAProxy's socket {}: {}; retrying every {} ms", options.socket(), why,
                options.resyncInterval().toMillis());
            unreachable = why;
        }
    }

    private void dropConnection() {
        if (api != null) {
            api.close();
            api = null;
        }
    }

    private void pass(SwarmView view) throws IOException {
        passes.incrementAndGet();
        api = RuntimeApi.connect(options.socket(), options.commandTimeout());
        String id = identity(api.command("show info"));
        if (identity == null) {
            LOG.info("HAProxy {} on {}: applying the view at version {}", id, options.socket(), view.version());
        } else if (!identity.equals(id)) {
            restartsSeen.incrementAndGet();
            LOG.info("HAProxy changed behind {} ({} -> {}): applying the whole view again", options.socket(),
                identity, id);
        }
        identity = id;
        Desired want = Desired.of(view, options.backends());
        boolean clean = true;
        for (Map.Entry<String, SortedMap<String, Desired.Server>> b : want.backends().entrySet()) {
            clean &= syncBackend(b.getKey(), b.getValue());
        }
        clean &= syncPins(want.pins());
        if (clean) {
            appliedVersion = view.version();
        }
    }

    /** "pid N started S": what tells one HAProxy process from the next. */
    static String identity(String showInfo) throws IOException {
        String pid = null;
        String start = null;
        for (String line : showInfo.split("\n")) {
            if (line.startsWith("Pid: ")) {
                pid = line.substring(5).strip();
            } else if (line.startsWith("Start_time_sec: ")) {
                start = line.substring(16).strip();
            }
        }
        if (pid == null) {
            throw new IOException("'show info' has no Pid (is this HAProxy's stats socket?): "
                + firstLine(showInfo));
        }
        return "pid " + pid + (start != null ? " started " + start : "");
    }

    private record Actual(String ip, int port, int admin) {
    }

    private boolean syncBackend(String backend, SortedMap<String, Desired.Server> want) throws IOException {
        String state = api.command("show servers state " + backend);
        if (!state.startsWith("1") && !state.startsWith("#")) {
            return refused("show servers state " + backend, state);
        }
        accepted("show servers state " + backend);
        Map<String, Actual> have = new TreeMap<>();
        for (String line : state.split("\n")) {
            if (line.isEmpty() || line.startsWith("#") || line.equals("1")) {
                continue;
            }
            String[] f = line.split(" ");
            if (f.length > 18 && f[1].equals(backend) && f[3].startsWith(MANAGED_PREFIX)) {
                have.put(f[3], new Actual(f[4], Integer.parseInt(f[18]), Integer.parseInt(f[6])));
            }
        }
        boolean clean = true;
        for (Map.Entry<String, Desired.Server> e : want.entrySet()) {
            String srv = backend + "/" + e.getKey();
            Desired.Server s = e.getValue();
            Actual a = have.get(e.getKey());
            if (a == null) {
                String add = "add server " + srv + " " + s.addr() + " check";
                String r = api.command(add);
                if (!r.startsWith("New server registered")) {
                    clean &= refused(add, r);
                    continue;
                }
                accepted(add);
                // a dynamic server starts in maintenance with its checks off
                clean &= run("enable health " + srv);
                clean &= run(s.drain() ? "set server " + srv + " state drain" : "enable server " + srv);
                changes.incrementAndGet();
                LOG.info("{}: added {} at {}{}", backend, e.getKey(), s.addr(), s.drain() ? " (draining)" : "");
                continue;
            }
            if (!sameIp(a.ip(), s.ip()) || a.port() != s.port()) {
                if (run("set server " + srv + " addr " + s.ip() + " port " + s.port())) {
                    changes.incrementAndGet();
                    LOG.info("{}: {} moved from {} to {}", backend, e.getKey(), Desired.addr(a.ip(), a.port()),
                        s.addr());
                } else {
                    clean = false;
                }
            }
            boolean draining = (a.admin() & ADMF_FDRAIN) != 0;
            boolean maint = (a.admin() & ADMF_FMAINT) != 0;
            if (s.drain() && (!draining || maint)) {
                if (run("set server " + srv + " state drain")) {
                    changes.incrementAndGet();
                    LOG.info("{}: {} draining (no new connections, live ones finish)", backend, e.getKey());
                } else {
                    clean = false;
                }
            } else if (!s.drain() && (draining || maint)) {
                if (run("set server " + srv + " state ready")) {
                    changes.incrementAndGet();
                    LOG.info("{}: {} ready again", backend, e.getKey());
                } else {
                    clean = false;
                }
            }
        }
        for (Map.Entry<String, Actual> e : have.entrySet()) {
            if (want.containsKey(e.getKey())) {
                continue;
            }
            String srv = backend + "/" + e.getKey();
            if ((e.getValue().admin() & ADMF_FMAINT) == 0) {
                // maintenance first (del server requires it): no new connection, live ones are left alone
                if (!run("set server " + srv + " state maint")) {
                    clean = false;
                    continue;
                }
                changes.incrementAndGet();
                LOG.info("{}: {} gone from Genesis: maintenance, deleted once its connections end", backend,
                    e.getKey());
            }
            String del = "del server " + srv;
            String r = api.command(del);
            if (r.startsWith("Server deleted")) {
                accepted(del);
                changes.incrementAndGet();
                LOG.info("{}: removed {}", backend, e.getKey());
            } else {
                clean &= refused(del, r); // typically "still has connections": tried again on the next pass
            }
        }
        return clean;
    }

    private boolean syncPins(SortedMap<String, String> want) throws IOException {
        String file = options.pinnedMap().toString();
        String shown = api.command("show map " + file);
        if (shown.startsWith("Unknown map") || shown.startsWith("Missing")) {
            return refused("show map " + file, shown);
        }
        accepted("show map " + file);
        Map<String, String> have = new TreeMap<>();
        for (String line : shown.split("\n")) {
            String[] f = line.split(" ");
            if (f.length == 3) {
                have.put(f[1], f[2]);
            }
        }
        boolean clean = true;
        for (Map.Entry<String, String> e : want.entrySet()) {
            String cur = have.get(e.getKey());
            if (e.getValue().equals(cur)) {
                continue;
            }
            String cmd = (cur == null ? "add map " : "set map ") + file + " " + e.getKey() + " " + e.getValue();
            if (run(cmd)) {
                changes.incrementAndGet();
                LOG.info("pinned port {} -> {}{}", e.getKey(), e.getValue().replace('/', ':'),
                    cur == null ? "" : " (was " + cur.replace('/', ':') + ")");
            } else {
                clean = false;
            }
        }
        for (String key : have.keySet()) {
            if (!want.containsKey(key)) {
                if (run("del map " + file + " " + key)) {
                    changes.incrementAndGet();
                    LOG.info("pinned port {} closed", key);
                } else {
                    clean = false;
                }
            }
        }
        persist(want);
        return clean;
    }

    /** Keeps the map's file equal to the pins, so a restarted HAProxy routes pinned ports before the next pass. */
    private void persist(SortedMap<String, String> pins) {
        StringBuilder sb = new StringBuilder("# written by planetary sync-haproxy: gateway port -> ip/port\n");
        pins.forEach((k, v) -> sb.append(k).append(' ').append(v).append('\n'));
        String text = sb.toString();
        if (text.equals(writtenPins)) {
            return;
        }
        Path file = options.pinnedMap();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            writtenPins = text;
        } catch (IOException e) {
            String key = "write " + file;
            if (!Objects.equals(refusals.put(key, e.toString()), e.toString())) {
                LOG.warn("cannot write the pinned map {} (HAProxy has the pins; a restarted one would not): {}",
                    file, e.toString());
            }
        }
    }

    private boolean run(String cmd) throws IOException {
        String r = api.command(cmd);
        // HAProxy answers a successful set/enable/add map with nothing, or with a line saying what changed
        if (r.isEmpty() || r.startsWith("IP changed") || r.startsWith("no need to change")
            || r.startsWith("port changed")) {
            accepted(cmd);
            return true;
        }
        return refused(cmd, r);
    }

    private boolean refused(String cmd, String answer) {
        String a = firstLine(answer);
        if (!a.equals(refusals.put(cmd, a))) {
            refusalsLogged.incrementAndGet();
            LOG.warn("HAProxy refused '{}': {} (tried again on the next change or in {} ms)", cmd, a,
                options.resyncInterval().toMillis());
        }
        return false;
    }

    private void accepted(String cmd) {
        refusals.remove(cmd);
    }

    private static String firstLine(String s) {
        String t = s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl) + " ...";
    }

    private static boolean sameIp(String a, String b) {
        if (a.equals(b)) {
            return true;
        }
        try {
            // both are literals (Genesis stores literals, HAProxy prints one): no lookup happens
            return InetAddress.getByName(a).equals(InetAddress.getByName(b));
        } catch (UnknownHostException e) {
            return false;
        }
    }

    @Override
    public void close() {
        closed = true;
        wake.release();
        try {
            thread.join(options.commandTimeout().toMillis() * 2);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
