package dev.planetary.proxy.reload;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Turns reload requests (signal handlers, any thread) into reloads on one thread of their own, coalesced: any number
 * of requests that come while a reload is queued make that one reload, which reads the files as they are when it
 * starts; a request during a running reload queues one more. A signal handler never waits. Requests that come before
 * {@link #attach} (the proxy still starting) are applied once the proxy is up.
 */
public final class ReloadTrigger {

    private final AtomicBoolean queued = new AtomicBoolean();
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "planetary-reload");
        t.setDaemon(true);
        return t;
    });
    private volatile Reloader reloader;

    /** Asks for a reload; returns at once. */
    public void request() {
        if (reloader != null && queued.compareAndSet(false, true)) {
            worker.execute(this::run);
        } else if (reloader == null) {
            queued.set(true); // attach() runs it
        }
    }

    /** The proxy is up: reloads go to {@code r} from now on (and one runs now if any was asked for). */
    public void attach(Reloader r) {
        reloader = r;
        if (queued.get()) {
            worker.execute(this::run);
        }
    }

    private void run() {
        queued.set(false); // before reading the files: a later request queues another reload
        reloader.reload();
    }

    /** No more reloads (the proxy stops). */
    public void close() {
        worker.shutdownNow();
    }
}
