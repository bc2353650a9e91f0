package dev.planetary.registry.client.testing;

import dev.planetary.registry.client.SwarmListener;
import dev.planetary.registry.client.SwarmView;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/** A listener that records every call, and checks that calls never overlap. */
public final class Recorder implements SwarmListener {

    public final List<SwarmView> views = new CopyOnWriteArrayList<>();
    public final List<String> stale = new CopyOnWriteArrayList<>();
    public final List<String> errors = new CopyOnWriteArrayList<>();
    private final AtomicInteger inside = new AtomicInteger();

    @Override
    public void onView(SwarmView view) {
        enter();
        try {
            if (!views.isEmpty() && views.get(views.size() - 1).version() > view.version()
                && view.version() != 0) {
                errors.add("view version went back: " + views.get(views.size() - 1).version() + " -> "
                    + view.version());
            }
            views.add(view);
        } finally {
            inside.decrementAndGet();
        }
    }

    @Override
    public void onStale(boolean s, String reason) {
        enter();
        try {
            stale.add(s + ": " + reason);
        } finally {
            inside.decrementAndGet();
        }
    }

    private void enter() {
        if (inside.incrementAndGet() != 1) {
            errors.add("listener called concurrently");
        }
    }

    public SwarmView last() {
        return views.isEmpty() ? SwarmView.EMPTY : views.get(views.size() - 1);
    }

    public long staleTrue() {
        return stale.stream().filter(s -> s.startsWith("true")).count();
    }

    public long staleFalse() {
        return stale.stream().filter(s -> s.startsWith("false")).count();
    }
}
