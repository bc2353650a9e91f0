package dev.planetary.bench.soak;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** What one kind of load did: operations and bytes verified, expected cuts, failures (the first few kept verbatim). */
final class Tally {

    /** Failure messages kept for the summary; the count goes on past it. */
    private static final int KEPT = 20;

    final String kind;
    final LongAdder ops = new LongAdder();
    final LongAdder bytesVerified = new LongAdder();
    final LongAdder connections = new LongAdder();
    /** Connections ended early because their server was killed (or cut before announcing, next to a kill). */
    final LongAdder cutByKill = new LongAdder();
    final LongAdder cutUnattributed = new LongAdder();
    final AtomicLong failures = new AtomicLong();
    private final List<String> messages = new ArrayList<>();

    Tally(String kind) {
        this.kind = kind;
    }

    void fail(String message) {
        long n = failures.incrementAndGet();
        synchronized (messages) {
            if (messages.size() < KEPT) {
                messages.add("[" + kind + "] " + message);
            }
        }
        if (n <= 3) {
            System.err.println("soak: FAILURE [" + kind + "] " + message);
        }
    }

    List<String> messages() {
        synchronized (messages) {
            return List.copyOf(messages);
        }
    }
}
