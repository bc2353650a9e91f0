package dev.planetary.proxy;

import dev.planetary.core.backend.Backend;
import dev.planetary.core.backend.BackendChange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The one owner of every backend's server set (STYLE 6: a background duty as a small agent): one thread for the
 * whole proxy, fed by a queue. Runtime API calls, the registry's view changes and health transitions arrive as
 * messages; the agent takes whatever has queued up, groups it per backend and has each backend apply its share as
 * one batch ({@link Backend#apply}: one snapshot, at most one heavy table build), then answers the callers. So no
 * event loop and no health-check loop ever builds a table or waits on one, and changes from different threads are
 * applied in one order, together with the health-check bookkeeping that follows membership.
 */
final class ControlAgent implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ControlAgent.class);

    /**
     * Most messages taken in one round: a burst of thousands of changes still becomes a handful of snapshots,
     * while the callers of the first ones do not wait behind an unbounded backlog.
     */
    static final int MAX_BATCH = 4_096;

    /** A change for one backend, with the future its caller waits on. */
    record Change(ProxyBackend backend, BackendChange change, ProxyBackend.Configs configs,
                  CompletableFuture<Backend.Outcome> done) {
    }

    /** Work that must run on the owner between batches (e.g. starting a backend's health checks). */
    record Job(Runnable work, CompletableFuture<Void> done) {
    }

    private static final Object STOP = new Object();

    private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean closed;

    ControlAgent() {
        thread = new Thread(this::run, "planetary-control");
        thread.setDaemon(true);
        thread.start();
    }

    /** True on the agent's own thread (where a caller must not wait for the agent). */
    boolean isOwner() {
        return Thread.currentThread() == thread;
    }

    /** Messages waiting for the agent (for tests and diagnostics). */
    int queued() {
        return inbox.size();
    }

    CompletableFuture<Backend.Outcome> submit(ProxyBackend backend, BackendChange change,
                                              ProxyBackend.Configs configs) {
        CompletableFuture<Backend.Outcome> done = new CompletableFuture<>();
        offer(new Change(backend, change, configs, done), done);
        return done;
    }

    CompletableFuture<Void> run(Runnable work) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        offer(new Job(work, done), done);
        return done;
    }

    /** Under the agent's monitor with {@link #close}: every message is either ahead of the stop or refused. */
    private synchronized void offer(Object message, CompletableFuture<?> done) {
        if (closed) {
            done.completeExceptionally(new IllegalStateException("the proxy is closed"));
            return;
        }
        inbox.add(message);
    }

    private void run() {
        List<Object> round = new ArrayList<>();
        Map<ProxyBackend, List<Change>> groups = new LinkedHashMap<>();
        for (;;) {
            try {
                round.add(inbox.take());
            } catch (InterruptedException e) {
                break;
            }
            inbox.drainTo(round, MAX_BATCH - 1);
            boolean stop = false;
            for (Object m : round) {
                if (m instanceof Change c) {
                    groups.computeIfAbsent(c.backend(), b -> new ArrayList<>()).add(c);
                } else {
                    flush(groups); // jobs and the stop run in order with the changes around them
                    if (m instanceof Job j) {
                        runJob(j);
                    } else if (m == STOP) {
                        stop = true;
                    }
                }
            }
            flush(groups);
            round.clear();
            if (stop) {
                break;
            }
        }
        failPending();
    }

    private void flush(Map<ProxyBackend, List<Change>> groups) {
        for (Map.Entry<ProxyBackend, List<Change>> e : groups.entrySet()) {
            try {
                e.getKey().applyBatch(e.getValue());
            } catch (RuntimeException ex) {
                // a bug, not bad input (refused changes are outcomes): answer the callers and keep the agent alive
                LOG.error("applying changes to backend '{}' failed", e.getKey().name(), ex);
                for (Change c : e.getValue()) {
                    c.done().completeExceptionally(ex);
                }
            }
        }
        groups.clear();
    }

    private static void runJob(Job j) {
        try {
            j.work().run();
            j.done().complete(null);
        } catch (RuntimeException ex) {
            j.done().completeExceptionally(ex);
        }
    }

    private void failPending() {
        List<Object> left = new ArrayList<>();
        inbox.drainTo(left);
        IllegalStateException gone = new IllegalStateException("the proxy is closed");
        for (Object m : left) {
            if (m instanceof Change c) {
                c.done().completeExceptionally(gone);
            } else if (m instanceof Job j) {
                j.done().completeExceptionally(gone);
            }
        }
    }

    /** Applies what is queued, then stops the thread; later messages fail with "the proxy is closed". */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            inbox.add(STOP);
        }
        if (!isOwner()) {
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
