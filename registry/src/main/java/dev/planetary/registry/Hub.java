package dev.planetary.registry;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.planetary.core.ports.Reservations;
import dev.planetary.core.ports.Reservations.Reservation;
import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Released;
import dev.planetary.registry.state.View;
import dev.planetary.registry.state.Vm;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The watch side: the current view, the retained history of changes (for {@code since=V} resumes) and the
 * subscribers. Each change is framed as a Server-Sent Event once and the same bytes go to every subscriber.
 * Publishing and subscribing take one lock, so a subscriber gets its snapshot (or replay) and then exactly the
 * changes after it, none twice and none missing.
 */
public final class Hub {

    private static final Logger LOG = LoggerFactory.getLogger(Hub.class);

    /** Changes kept for resumes: at 2,000 VMs this is several rounds of churn; older resumes get a snapshot. */
    public static final int RETAINED = 10_000;

    /** One framed event. */
    public record Event(long version, byte[] sse) {
    }

    private record Parked(long version, Runnable reached) {
    }

    /** A subscriber: {@code offer} runs under the hub's lock and must only enqueue; false unsubscribes it. */
    public interface Subscriber {
        boolean offer(Event e);
    }

    private final ArrayDeque<Event> history = new ArrayDeque<>();
    private final List<Subscriber> subscribers = new ArrayList<>();
    /** Parked resumes ({@link #whenReached}): version to reach -> what to run then. */
    private final List<Parked> parked = new ArrayList<>();
    private volatile View view = View.empty();
    /** True once {@link #close} ran: nothing parks any more (the event loops that would answer are gone). */
    private boolean closed;
    private Event snapshotCache;
    /**
     * The view {@link #snapshotCache} was made of: views are immutable and published whole, so one instance is one
     * content (the version alone is not: a follower shows the leader's self-preservation at an unchanged version).
     */
    private View snapshotOf;

    public View view() {
        return view;
    }

    public synchronized int subscribers() {
        return subscribers.size();
    }

    /** At start: the recovered view and the changes replayed from the log (retained for resumes). */
    public synchronized void init(View v, List<Change> replayed) {
        for (Change c : replayed) {
            retain(frame(c));
        }
        view = v;
    }

    /** After a committed batch: the new view, and every change to every subscriber. */
    public synchronized void publish(List<Change> changes, View v) {
        view = v;
        if (changes.isEmpty()) {
            return;
        }
        for (Change c : changes) {
            Event e = frame(c);
            retain(e);
            subscribers.removeIf(s -> !s.offer(e));
        }
        // after the changes are retained (a parked resume streams them) and each on its own: one that throws (a
        // hand-off to an event loop that shut down) must not cost the subscribers or the history this round, nor the
        // writer thread that publishes
        if (!parked.isEmpty()) {
            List<Parked> due = new ArrayList<>();
            parked.removeIf(p -> p.version() <= v.version() && due.add(p));
            for (Parked p : due) {
                try {
                    p.reached().run();
                } catch (RuntimeException e) {
                    LOG.debug("a parked resume could not be handed off: {}", e.toString());
                }
            }
        }
    }

    /** At shutdown: drops the parked resumes (their event loops are going) and parks none any more. */
    public synchronized void close() {
        closed = true;
        parked.clear();
    }

    /**
     * Subscribes: offers the changes after {@code since} when they are all retained, otherwise a snapshot at the
     * current version (as a Kubernetes watcher relists), then every later change.
     */
    public synchronized void subscribe(Long since, Subscriber s) {
        View v = view;
        boolean resume = since != null && since <= v.version()
            && (since == v.version() || (!history.isEmpty() && since >= history.peekFirst().version() - 1));
        if (resume) {
            for (Event e : history) {
                if (e.version() > since && !s.offer(e)) {
                    return;
                }
            }
        } else if (!s.offer(snapshot(v))) {
            return;
        }
        subscribers.add(s);
    }

    /**
     * A resume from a version this instance has not reached yet (an instance of a shared store that applies the
     * others' commits a moment later): true when the view is at {@code version} already; else false, and
     * {@code reached} runs (under the hub's lock: it must only hand work off) once a publication reaches it, unless
     * {@link #cancel} came first.
     */
    public synchronized boolean whenReached(long version, Runnable reached) {
        if (view.version() >= version) {
            return true;
        }
        if (!closed) { // after close nothing runs it: the caller's own bound (a timer) answers, or the loop is gone
            parked.add(new Parked(version, reached));
        }
        return false;
    }

    /** Drops a parked {@link #whenReached}: true when it was still parked (then it never runs). */
    public synchronized boolean cancel(Runnable reached) {
        return parked.removeIf(p -> p.reached() == reached);
    }

    /** Resumes parked now (for the status page and tests). */
    public synchronized int parked() {
        return parked.size();
    }

    public synchronized void unsubscribe(Subscriber s) {
        subscribers.remove(s);
    }

    private void retain(Event e) {
        history.addLast(e);
        while (history.size() > RETAINED) {
            history.pollFirst();
        }
    }

    private Event snapshot(View v) {
        Event cached = snapshotCache;
        if (cached != null && snapshotOf == v) {
            return cached;
        }
        ObjectNode n = Json.object();
        n.put("version", v.version());
        n.put("self_preservation", v.selfPreservation());
        ArrayNode vms = n.putArray("vms");
        for (Vm vm : v.vms().values()) {
            vms.add(Json.vm(vm));
        }
        // reservations of removed VMs in their grace period: their ports stay closed until a `released` event
        ArrayNode grace = n.putArray("grace");
        for (Reservation r : v.ports()) {
            if (r.state() == Reservations.State.GRACE) {
                grace.add(Json.released(new Released(r.id(), r.instance(), r.ports())));
            }
        }
        snapshotCache = new Event(v.version(), sse(v.version(), "snapshot", Json.bytes(n)));
        snapshotOf = v;
        return snapshotCache;
    }

    private static Event frame(Change c) {
        return new Event(c.version(), sse(c.version(), c.type().wire(), Json.bytes(Json.change(c))));
    }

    /** {@code id: V \n event: TYPE \n data: JSON \n\n} (the JSON has no raw newlines). */
    static byte[] sse(long version, String type, byte[] json) {
        byte[] head = ("id: " + version + "\nevent: " + type + "\ndata: ").getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[head.length + json.length + 2];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(json, 0, out, head.length, json.length);
        out[out.length - 2] = '\n';
        out[out.length - 1] = '\n';
        return out;
    }
}
