package dev.planetary.proxy;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;

import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Turns accepting on and off for every listener: a listener accepts when the global maxconn and its frontend's
 * maxconn both have room, and it is not resting after an accept error.
 *
 * <p>Limits call {@link #reconcile()} on each fill/free edge. That posts at most one pending task per event loop,
 * which walks that loop's listeners and sets autoRead from the limits as they are when it runs; racing edges
 * therefore always end in the right state, and a burst of edges costs one pass, not one per edge.
 */
final class AcceptGate {

    /** How long a listener rests after accept() failed (EMFILE and the like), as Netty's acceptor does. */
    static final long REST_MS = 1_000;

    private record Entry(Channel listener, Frontend frontend, AtomicBoolean resting) { }

    private final class LoopListeners implements Runnable {
        final EventLoop loop;
        final Queue<Entry> entries = new ConcurrentLinkedQueue<>();
        final AtomicBoolean scheduled = new AtomicBoolean();

        LoopListeners(EventLoop loop) {
            this.loop = loop;
        }

        void schedule() {
            if (scheduled.compareAndSet(false, true)) {
                loop.execute(this);
            }
        }

        @Override
        public void run() {
            scheduled.set(false); // before reading the limits: a later edge schedules another pass
            boolean globalRoom = global.hasRoom();
            for (Entry e : entries) {
                boolean accept = globalRoom && e.frontend().limit.hasRoom() && !e.resting().get();
                if (e.listener().config().isAutoRead() != accept) {
                    e.listener().config().setAutoRead(accept);
                }
            }
        }
    }

    private final Map<EventLoop, LoopListeners> loops = new ConcurrentHashMap<>();
    private final Map<Channel, Entry> byChannel = new ConcurrentHashMap<>();
    private volatile ConnectionLimit global;

    void global(ConnectionLimit global) {
        this.global = global;
    }

    void add(Channel listener, Frontend frontend) {
        Entry e = new Entry(listener, frontend, new AtomicBoolean());
        byChannel.put(listener, e);
        loops.computeIfAbsent(listener.eventLoop(), LoopListeners::new).entries.add(e);
    }

    /** A listener that closes (reload) or moves to another frontend (remove, then add). */
    void remove(Channel listener) {
        Entry e = byChannel.remove(listener);
        if (e != null) {
            LoopListeners l = loops.get(listener.eventLoop());
            if (l != null) {
                l.entries.remove(e);
            }
        }
    }

    void reconcile() {
        for (LoopListeners l : loops.values()) {
            l.schedule();
        }
    }

    /** accept() failed on this listener (out of descriptors, say): rest it a while instead of spinning. */
    void rest(Channel listener) {
        Entry e = byChannel.get(listener);
        if (e == null || !e.resting().compareAndSet(false, true)) {
            return;
        }
        listener.config().setAutoRead(false);
        listener.eventLoop().schedule(() -> {
            e.resting().set(false);
            loops.get(listener.eventLoop()).schedule();
        }, REST_MS, TimeUnit.MILLISECONDS);
    }
}
