package dev.planetary.registry;

import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Faults;
import dev.planetary.registry.state.Registry;
import dev.planetary.registry.store.SharedStore;
import dev.planetary.registry.store.StateStore;
import dev.planetary.registry.store.Store;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that owns the {@link Registry}. HTTP threads hand it operations through a bounded queue; it applies
 * a batch of them, appends the batch's changes to the log and fsyncs once (group commit), publishes the new view and
 * the changes to watchers, and only then completes the answers of changing operations. Heartbeats do not come here
 * at all: they change nothing durable and are answered on the HTTP threads (see {@code Liveness}). Every {@link #TICK_MILLIS} it runs the registry's periodic duties, and after
 * {@link #SNAPSHOT_EVERY} log records it writes a snapshot and empties the log.
 */
public final class Writer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Writer.class);

    /** Expiry and drain resolution: a lapsed VM is removed at most this late. */
    public static final long TICK_MILLIS = 200;
    /** Snapshot after this many records: recovery then replays at most this many (a few MB of log). */
    public static final int SNAPSHOT_EVERY = Store.SNAPSHOT_EVERY;
    /** Queued operations before new ones are refused with 503 (far more than 2,000 VMs send at once). */
    public static final int QUEUE = 16_384;
    /** Operations applied per commit at most, so one fsync never waits behind an unbounded batch. */
    private static final int BATCH = 1_024;
    /**
     * A shared store: a batch re-applied this many times after lost races before its requests answer 503 (each lost
     * race means another instance committed, so the swarm made progress; a round this unlucky is retried by the VM).
     */
    static final int RACES = 16;
    /**
     * A shared store: operations per commit at most. A registration is one change, so a round of this many normally
     * fits one etcd transaction ({@code EtcdStore.CHANGES_PER_TXN}); a round with more changes (a registration that
     * also frees grace periods) goes as several transactions in a row.
     */
    static final int SHARED_BATCH = 24;

    /** An operation on the registry, run on the writer thread. */
    public interface Op<T> {
        T apply(Registry r, long nowNanos, long wallMillis) throws Exception;
    }

    /** The registry cannot write its log: it stopped taking changes. */
    public static final class StorageFailure extends Exception {
        StorageFailure(String message) {
            super(message, null, false, false);
        }
    }

    /** The writer's queue is full. */
    public static final class Busy extends Exception {
        Busy() {
            super("registry busy: too many requests queued, retry shortly", null, false, false);
        }
    }

    private record Task<T>(Op<T> op, boolean durable, CompletableFuture<T> result) {
    }

    private Registry registry;
    private final StateStore store;
    /** The same store when several instances share it (etcd), else null. */
    private final SharedStore shared;
    /** A new, empty registry of the same settings, plan and randomness: the base of a reload from the shared store. */
    private final Supplier<Registry> fresh;
    /** Other instances' commits, from the store's follow callback, applied by the writer thread at its next round. */
    private final ConcurrentLinkedQueue<Change> followed = new ConcurrentLinkedQueue<>();
    /** True when the in-memory state may differ from the shared store's: reload before the next batch. */
    private volatile boolean resync;
    /** True while a wake-up for followed changes is queued and not yet taken (see {@link #followed}). */
    private final AtomicBoolean wakePending = new AtomicBoolean();
    /** The last version published to the hub. */
    private long published;
    private final Hub hub;
    private final Clock clock;
    private final Consumer<String> onFatal;
    private final Faults faults;
    private final BlockingQueue<Task<?>> queue = new ArrayBlockingQueue<>(QUEUE);
    private final Thread thread;
    private volatile boolean running = true;
    private volatile String failure;

    public Writer(Registry registry, StateStore store, Hub hub, Clock clock, Consumer<String> onFatal) {
        this(registry, store, hub, clock, onFatal, new Faults());
    }

    /** {@code faults}: where a round slower than {@link Genesis#STALL_MILLIS} is reported. */
    public Writer(Registry registry, StateStore store, Hub hub, Clock clock, Consumer<String> onFatal, Faults faults) {
        this(registry, store, null, hub, clock, onFatal, faults);
    }

    /**
     * {@code fresh}: with a {@link SharedStore}, makes the empty registry a reload starts from (a lost race or a
     * failed commit drops the in-memory state and reads the store's back); null with the local log.
     */
    public Writer(Registry registry, StateStore store, Supplier<Registry> fresh, Hub hub, Clock clock,
                  Consumer<String> onFatal, Faults faults) {
        this.shared = store instanceof SharedStore sh && fresh != null ? sh : null;
        this.fresh = fresh;
        this.published = registry.version();
        this.faults = faults;
        this.registry = registry;
        this.store = store;
        this.hub = hub;
        this.clock = clock;
        this.onFatal = onFatal;
        this.thread = new Thread(this::run, "registry-writer");
        this.thread.setDaemon(false);
    }

    public void start() {
        thread.start();
    }

    /**
     * With a shared store: follows the other instances' commits from store revision {@code revision} (the one after
     * the read the registry was loaded from).
     */
    public void follow(long revision) {
        shared.follow(revision, this::followed, this::followLost);
    }

    private void followed(Change c) {
        followed.add(c);
        // one wake-up for any number of followed changes (a mass expiry elsewhere is thousands): a wake task per
        // change would fill the queue and the writer's batches with no-ops, and answer registrations "busy"
        if (wakePending.compareAndSet(false, true)) {
            queue.offer(new Task<>(WAKE, false, new CompletableFuture<>())); // a full queue wakes the writer anyway
        }
    }

    private void followLost(String why) {
        LOG.warn("following {} broke ({}); reloading the state from it", shared.describe(), why);
        resync = true;
        queue.offer(new Task<>(WAKE, false, new CompletableFuture<>()));
    }

    /** A no-op that wakes the writer for the changes it followed. */
    private static final Op<Void> WAKE = (r, now, wall) -> null;

    /** Null while healthy, else why the registry stopped taking changes. */
    public String failure() {
        return failure;
    }

    /** Queues an operation; {@code durable}: its answer waits for the fsync of its changes. */
    public <T> CompletableFuture<T> submit(Op<T> op, boolean durable) {
        CompletableFuture<T> f = new CompletableFuture<>();
        String failed = failure;
        if (failed != null) {
            f.completeExceptionally(new StorageFailure(failed));
        } else if (!running) {
            f.completeExceptionally(new StorageFailure("registry is stopping"));
        } else if (!queue.offer(new Task<>(op, durable, f))) {
            f.completeExceptionally(new Busy());
        }
        return f;
    }

    private void run() {
        List<Task<?>> batch = new ArrayList<>(BATCH);
        List<Runnable> answers = new ArrayList<>(BATCH);
        // ticks follow real time; the registry gets the (possibly test-driven) clock's time
        long nextTick = System.nanoTime();
        while (running || !queue.isEmpty()) {
            try {
                Task<?> first = queue.poll(TICK_MILLIS, TimeUnit.MILLISECONDS);
                if (first != null) {
                    batch.add(first);
                    queue.drainTo(batch, (shared == null ? BATCH : SHARED_BATCH) - 1);
                }
            } catch (InterruptedException e) {
                running = false;
            }
            long now = clock.nanos();
            long wall = clock.millis();
            long roundStart = System.nanoTime();
            List<Change> out = new ArrayList<>();
            if (shared != null && !catchUp(now, out, !batch.isEmpty())) {
                StorageFailure sf = new StorageFailure(failureOfShared);
                batch.forEach(t -> t.result().completeExceptionally(sf));
                batch.clear();
                answer(answers);
                continue;
            }
            boolean tickDue = System.nanoTime() - nextTick >= 0;
            if (tickDue) {
                nextTick = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS);
            }
            // the operations still to commit; after a lost race or an unknown outcome only those not stored go again
            List<Task<?>> todo = new ArrayList<>(batch);
            boolean readBack = false; // at most one read-back of an unknown outcome per round (each costs a timeout)
            for (int attempt = 0; ; attempt++) {
                if (attempt == RACES) {
                    failAll(todo, new StorageFailure("registry busy: " + RACES + " commits in a row lost to "
                        + "other Genesis instances; retry shortly"));
                    break;
                }
                registry.timedDuties(shared == null || shared.leader());
                long base = registry.version();
                Runnable[] answer = new Runnable[todo.size()];
                long[] upTo = new long[todo.size()]; // the version an operation's answer rests on (its own changes)
                for (int i = 0; i < todo.size(); i++) {
                    Task<?> t = todo.get(i);
                    answer[i] = apply(t, now, wall);
                    upTo[i] = registry.version();
                    if (!t.durable()) {
                        answer[i].run();
                    }
                }
                // with a shared store only the elected leader runs the timed duties: they are decided once
                if (tickDue && shared != null) {
                    shared.refreshLiveness(registry.view().liveness(), now, registry.settings().ttl().toNanos());
                }
                if (tickDue && (shared == null || shared.leader())) {
                    registry.tick(now);
                }
                List<Change> changes = registry.pending();
                boolean stored;
                Exception unknown = null;
                Exception refused = null;
                try {
                    stored = changes.isEmpty() || store.commit(base, changes);
                } catch (IOException | RuntimeException e) {
                    if (shared == null) {
                        fail("cannot write the registry state to " + store.describe() + ": " + e);
                        StorageFailure sf = new StorageFailure(failure);
                        failAll(todo, sf);
                        drainAndFail(sf);
                        return;
                    }
                    stored = false;
                    if (outcomeUnknown(e)) {
                        unknown = e;
                    } else {
                        refused = e; // etcd answered no (too large, a permission, ...): applying again changes nothing
                    }
                }
                if (stored) {
                    out.addAll(changes);
                    for (int i = 0; i < todo.size(); i++) {
                        if (todo.get(i).durable()) {
                            answers.add(answer[i]);
                        }
                    }
                    break;
                }
                if (shared == null) {
                    fail("cannot write the registry state to " + store.describe() + ": the store refused a commit on "
                        + "the current version");
                    StorageFailure sf = new StorageFailure(failure);
                    failAll(todo, sf);
                    drainAndFail(sf);
                    return;
                }
                // Lost the race, or the commit's answer never came (an etcd leader change, a quorum loss: it may have
                // applied). Ask the store how much of it is stored: the operations whose changes are all stored are
                // answered as stored (so an agent never registers a second time what is already there), the others
                // are applied again on the state read back.
                if (unknown != null && readBack) {
                    // a second answer lost in one round: etcd is in trouble; say so rather than wait out another
                    unavailable(unknown.getMessage() + " (twice in one round; whether the last commit was stored is "
                        + "unknown)");
                    resync = true;
                    failAll(todo, new StorageFailure(failureOfShared));
                    break;
                }
                readBack |= unknown != null;
                int kept;
                try {
                    kept = shared.stored(base, changes); // without an unknown outcome: known without asking
                } catch (IOException | RuntimeException e) {
                    // Not even that can be read (no quorum): the outcome stays unknown and the answer is 503. A
                    // registration without an instance key that did apply is then registered again by its agent: the
                    // first record is never heartbeaten and expires after the TTL (its ports then wait out a grace
                    // period). With an instance key the retry finds the same VM.
                    unavailable((unknown != null ? unknown.getMessage() : e.getMessage())
                        + " (whether the last commit was stored is unknown: " + e.getMessage() + ")");
                    resync = true;
                    silentSinceNanos = System.nanoTime();
                    failAll(todo, new StorageFailure(failureOfShared));
                    break;
                }
                if (unknown != null) {
                    LOG.warn("a commit to {} got no answer ({}); read back: {} of its {} changes are stored",
                        shared.describe(), unknown.getMessage(), kept, changes.size());
                }
                List<Task<?>> rest = new ArrayList<>();
                for (int i = 0; i < todo.size(); i++) {
                    Task<?> t = todo.get(i);
                    if (upTo[i] > base + kept) {
                        rest.add(t);
                    } else if (t.durable()) {
                        answers.add(answer[i]);
                    }
                }
                todo = rest;
                if (refused != null) {
                    // the operations not stored fail with etcd's own reason; the state is read back (a multi-chunk
                    // commit may have stored a prefix) so the next round starts from what the store holds
                    String why = "the registry state cannot be written to " + shared.describe() + ": "
                        + refused.getMessage();
                    LOG.error("{}", why);
                    failAll(todo, new StorageFailure(why));
                    if (!reload(now, out)) {
                        resync = true;
                    }
                    break;
                }
                if (!reload(now, out)) { // catches up with what won (and with what of ours is stored)
                    failAll(todo, new StorageFailure(failureOfShared));
                    break;
                }
                if (kept == changes.size()) {
                    break; // all stored: every answer stands
                }
            }
            batch.clear();
            if (shared != null) { // standing decisions are the leader's: it shares them, the others show them
                if (shared.leader()) {
                    shared.decided(new SharedStore.Duties(registry.selfPreservation(), registry.faultHold()));
                } else {
                    SharedStore.Duties d = shared.duties();
                    if (d != null) {
                        registry.showDecisions(d.selfPreservation(), d.expiryHeld());
                    }
                }
            }
            if (!resync) { // after a failed commit the in-memory state is unknown: readers keep the last view
                hub.publish(out, registry.view());
                published = registry.version();
            }
            // measured in real time (a test's clock jumps are not stalls); the window is reported in the registry's
            long took = System.nanoTime() - roundStart;
            if (took > TimeUnit.MILLISECONDS.toNanos(Genesis.STALL_MILLIS)) {
                // a slow fsync (or a stalled machine): registrations waited; hold expiry over the window
                faults.report("a group commit took " + TimeUnit.NANOSECONDS.toMillis(took) + " ms", clock.nanos());
            }
            answer(answers);
            if (store.compactDue()) {
                try {
                    store.compact(registry.version(), registry.vms(), registry.reservations());
                } catch (IOException | RuntimeException e) {
                    // the log still holds everything: a failed snapshot loses nothing, but say so
                    LOG.error("snapshot failed (the log still holds every change): {}", e.toString());
                }
            }
        }
        answers.forEach(Runnable::run); // stopping: what is stored is answered as stored
    }

    /**
     * How long the answers of stored operations wait for the hub to show their changes, after a round whose reload
     * failed (the state read back, not yet published): the next round reloads within {@link #TICK_MILLIS}. An answer
     * that went out first would send the agent heartbeats this instance answers 404 (the VM is not in its view), and
     * an agent without an instance key then registers a second VM. Past the bound the answer goes anyway: it is stored.
     */
    static final long ANSWER_HOLD_MILLIS = 1_000;
    /** When answers began to be held for a publish (see {@link #ANSWER_HOLD_MILLIS}); 0: none held. */
    private long answersHeldSince;

    /** Runs the stored operations' answers once the hub shows their changes (no resync pending), or past the bound. */
    private void answer(List<Runnable> answers) {
        if (answers.isEmpty()) {
            answersHeldSince = 0;
            return;
        }
        if (resync) {
            long t = System.nanoTime();
            if (answersHeldSince == 0) {
                answersHeldSince = t;
            }
            if (t - answersHeldSince < TimeUnit.MILLISECONDS.toNanos(ANSWER_HOLD_MILLIS)) {
                return; // held: the hub has not shown these changes yet
            }
        }
        answersHeldSince = 0;
        answers.forEach(Runnable::run);
        answers.clear();
    }

    /**
     * True when {@code e}, thrown by a shared store's commit, may hide a commit that applied: the answer never came (a
     * timeout, etcd unavailable, an etcd leader change, a request that timed out inside etcd). Any other error is an
     * answer (request too large, too many operations, permission denied): nothing of that transaction applied.
     */
    public static boolean outcomeUnknown(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (t instanceof java.util.concurrent.TimeoutException || m.contains("no answer within")
                || m.contains("DEADLINE_EXCEEDED") || m.contains("UNAVAILABLE") || m.contains("leader changed")
                || m.contains("request timed out") || m.contains("interrupted")
                // the connection to the member carrying the transaction closed under it (the member died): it may
                // have applied before
                || m.contains("channel closed") || m.contains("Connection reset")) {
                return true;
            }
        }
        return false;
    }

    /**
     * A batch that finds the shared store silent this recently (a read of it failed on its bound) answers 503 at once
     * instead of reading it again first: a write that arrived during that read has waited for it already, and one
     * more bounded read would put its 503 past the VM agent's 5 s request timeout (quorum lost: 5.7 s measured,
     * {@code QuorumLossAnswerTimeTest}). Rounds without requests keep reading it, so recovery is noticed as before.
     */
    static final long SILENT_MILLIS = 1_000;
    /** When a read of the shared store last failed (0: it answered since). */
    private long silentSinceNanos;

    /** Why the shared store cannot be written now (the 503's message). */
    private String failureOfShared = "";

    private void unavailable(String why) {
        String msg = "the registry state cannot be written now: " + why + "; reads and watches keep the last known "
            + "view; retry shortly";
        if (!msg.equals(failureOfShared)) {
            LOG.error("{}", msg);
        }
        failureOfShared = msg;
    }

    /**
     * Applies the other instances' commits that arrived (in version order), or reloads the whole state when a
     * reload is due or a change is missing; {@code out} gets what the hub has not published yet. False when the
     * store cannot be read (the batch answers 503; the last published view stays).
     */
    private boolean catchUp(long now, List<Change> out, boolean waiting) {
        wakePending.set(false); // before draining: a change followed after this point queues a wake-up of its own
        if (resync) {
            if (waiting && silentSinceNanos != 0
                && System.nanoTime() - silentSinceNanos < TimeUnit.MILLISECONDS.toNanos(SILENT_MILLIS)) {
                return false; // the store did not answer a moment ago: 503 now, not after one more wait
            }
            return reload(now, out);
        }
        for (Change c; (c = followed.poll()) != null; ) {
            if (c.version() <= registry.version()) {
                continue; // ours, or already read back by a reload
            }
            if (c.version() != registry.version() + 1) {
                return reload(now, out);
            }
            try {
                registry.replay(c, now);
            } catch (IllegalStateException e) {
                LOG.warn("a followed change does not apply ({}); reloading", e.getMessage());
                return reload(now, out);
            }
            registry.pending();
            shared.followed(c);
            out.add(c);
        }
        return true;
    }

    /**
     * Drops the in-memory state and reads the shared store's back (one consistent read), keeping the heartbeat
     * state of the VMs that are still there; the changes after what the hub published go to {@code out}.
     */
    private boolean reload(long now, List<Change> out) {
        long have = out.isEmpty() ? published : out.get(out.size() - 1).version();
        SharedStore.Loaded l;
        try {
            l = shared.load(have);
        } catch (IOException e) {
            unavailable(e.getMessage());
            resync = true;
            silentSinceNanos = System.nanoTime();
            return false;
        }
        Registry r = fresh.get();
        try {
            r.restore(l.version(), l.vms(), l.released(), now);
        } catch (IllegalStateException e) {
            unavailable(shared.describe() + " holds a state that does not apply: " + e.getMessage());
            resync = true;
            return false;
        }
        r.adoptLiveness(registry.view().liveness());
        r.pending();
        registry = r;
        boolean rebase = resync;
        resync = false;
        silentSinceNanos = 0;
        for (Change c : l.log()) {
            if (c.version() > have && c.version() <= l.version()) {
                if (c.version() != have + 1) {
                    LOG.warn("changes {}..{} are no longer kept by {}: watchers resuming from before {} relist",
                        have + 1, c.version() - 1, shared.describe(), c.version());
                }
                out.add(c);
                have = c.version();
            }
        }
        if (rebase) {
            follow(l.revision() + 1);
        }
        if (!failureOfShared.isEmpty()) {
            LOG.info("{} answers again: the state is read back at version {}", shared.describe(), l.version());
            failureOfShared = "";
        }
        return true;
    }

    private <T> Runnable apply(Task<T> t, long now, long wall) {
        try {
            T value = t.op().apply(registry, now, wall);
            return () -> t.result().complete(value);
        } catch (RuntimeException e) {
            LOG.error("registry operation failed: {}", e.toString());
            return () -> t.result().completeExceptionally(e);
        } catch (Exception e) {
            return () -> t.result().completeExceptionally(e);
        }
    }

    private void fail(String why) {
        failure = why;
        LOG.error("{}; the registry stops taking changes (what was acknowledged is on disk)", why);
        onFatal.accept(why);
    }

    /** Answers {@code tasks} with {@code sf} (those answered already keep their answer). */
    private static void failAll(List<Task<?>> tasks, StorageFailure sf) {
        tasks.forEach(t -> t.result().completeExceptionally(sf));
    }

    private void drainAndFail(StorageFailure sf) {
        List<Task<?>> rest = new ArrayList<>();
        queue.drainTo(rest);
        for (Task<?> t : rest) {
            t.result().completeExceptionally(sf);
        }
    }

    /** Finishes queued operations, then stops (bounded wait). */
    @Override
    public void close() {
        running = false;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
