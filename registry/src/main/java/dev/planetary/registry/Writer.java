package dev.planetary.registry;

import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Faults;
import dev.planetary.registry.state.Registry;
import dev.planetary.registry.store.StateStore;
import dev.planetary.registry.store.Store;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
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

    private final Registry registry;
    private final StateStore store;
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
        List<CompletableFuture<?>> waiting = new ArrayList<>(BATCH);
        // ticks follow real time; the registry gets the (possibly test-driven) clock's time
        long nextTick = System.nanoTime();
        while (running || !queue.isEmpty()) {
            try {
                Task<?> first = queue.poll(TICK_MILLIS, TimeUnit.MILLISECONDS);
                if (first != null) {
                    batch.add(first);
                    queue.drainTo(batch, BATCH - 1);
                }
            } catch (InterruptedException e) {
                running = false;
            }
            long now = clock.nanos();
            long wall = clock.millis();
            long roundStart = System.nanoTime();
            for (Task<?> t : batch) {
                Runnable answer = apply(t, now, wall);
                if (t.durable()) {
                    answers.add(answer);
                    waiting.add(t.result());
                } else {
                    answer.run();
                }
            }
            batch.clear();
            long real = System.nanoTime();
            if (real - nextTick >= 0) {
                registry.tick(now);
                nextTick = real + TimeUnit.MILLISECONDS.toNanos(TICK_MILLIS);
            }
            List<Change> changes = registry.pending();
            if (!changes.isEmpty()) {
                try {
                    if (!store.commit(changes.get(0).version() - 1, changes)) {
                        // only a shared store (etcd) loses a race; catching up is not built yet (issue 13)
                        throw new IOException("another Genesis instance committed first");
                    }
                } catch (IOException | RuntimeException e) {
                    fail("cannot write the registry state to " + store.describe() + ": " + e);
                    StorageFailure sf = new StorageFailure(failure);
                    waiting.forEach(f -> f.completeExceptionally(sf));
                    drainAndFail(sf);
                    return;
                }
            }
            hub.publish(changes, registry.view());
            // measured in real time (a test's clock jumps are not stalls); the window is reported in the registry's
            long took = System.nanoTime() - roundStart;
            if (took > TimeUnit.MILLISECONDS.toNanos(Genesis.STALL_MILLIS)) {
                // a slow fsync (or a stalled machine): registrations waited; hold expiry over the window
                faults.report("a group commit took " + TimeUnit.NANOSECONDS.toMillis(took) + " ms", clock.nanos());
            }
            answers.forEach(Runnable::run);
            answers.clear();
            waiting.clear();
            if (store.compactDue()) {
                try {
                    store.compact(registry.version(), registry.vms(), registry.reservations());
                } catch (IOException | RuntimeException e) {
                    // the log still holds everything: a failed snapshot loses nothing, but say so
                    LOG.error("snapshot failed (the log still holds every change): {}", e.toString());
                }
            }
        }
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
