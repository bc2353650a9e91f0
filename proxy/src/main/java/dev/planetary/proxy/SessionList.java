package dev.planetary.proxy;

import dev.planetary.core.backend.Server;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.Future;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The live connections of one event loop, for {@code show sess} and {@code shutdown sessions}: an intrusive list
 * through the sessions themselves (two pointer writes at start and end, no allocation), touched only by its loop.
 * A reader visits every loop's list on that loop ({@link #visitAll}).
 */
final class SessionList {

    /** Longest wait for one event loop to list its sessions. */
    private static final long VISIT_WAIT_MS = 5_000;

    private static final List<SessionList> ALL = new CopyOnWriteArrayList<>();
    private static final FastThreadLocal<SessionList> MINE = new FastThreadLocal<>();

    private final EventLoop loop;
    private Session head;

    private SessionList(EventLoop loop) {
        this.loop = loop;
    }

    /** The list of the calling event loop. */
    static SessionList of(EventLoop loop) {
        SessionList l = MINE.get();
        if (l == null) {
            l = new SessionList(loop);
            MINE.set(l);
            ALL.add(l);
        }
        return l;
    }

    void add(Session s) {
        s.nextLive = head;
        s.prevLive = null;
        if (head != null) {
            head.prevLive = s;
        }
        head = s;
    }

    void remove(Session s) {
        if (s.prevLive != null) {
            s.prevLive.nextLive = s.nextLive;
        } else if (head == s) {
            head = s.nextLive;
        } else {
            return; // not in the list
        }
        if (s.nextLive != null) {
            s.nextLive.prevLive = s.prevLive;
        }
        s.nextLive = null;
        s.prevLive = null;
    }

    /** Runs {@code visitor} on every live session of every loop, on each session's loop; waits for all. */
    static void visitAll(Consumer<Session> visitor) {
        List<Future<?>> done = new ArrayList<>();
        for (SessionList l : ALL) {
            if (l.loop.isShuttingDown()) {
                if (l.loop.isTerminated()) {
                    ALL.remove(l); // a stopped proxy's loop: nothing lives there any more
                }
                continue;
            }
            try {
                done.add(l.loop.submit(() -> {
                    for (Session s = l.head; s != null; ) {
                        Session next = s.nextLive; // the visitor may end it
                        visitor.accept(s);
                        s = next;
                    }
                }));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // the loop began to shut down meanwhile: its sessions are being closed anyway
            }
        }
        for (Future<?> f : done) {
            f.awaitUninterruptibly(VISIT_WAIT_MS, TimeUnit.MILLISECONDS);
        }
    }

    /** One summary line per live connection, HAProxy's {@code show sess} in short. */
    static List<String> describeAll(Proxy proxy) {
        List<String> out = new CopyOnWriteArrayList<>();
        visitAll(s -> {
            if (s.proxy() == proxy) {
                out.add(s.describe());
            }
        });
        return out;
    }

    /** Closes every live connection to {@code server} (as {@code shutdown sessions server}); returns how many. */
    static int shutdown(Proxy proxy, Server server) {
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        visitAll(s -> {
            if (s.proxy() == proxy && s.server() == server) {
                n.incrementAndGet();
                s.kill();
            }
        });
        return n.get();
    }
}
