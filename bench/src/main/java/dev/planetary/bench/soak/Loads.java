package dev.planetary.bench.soak;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The soak's client load, every connection through the proxy and every byte checked: bulk streams (the content
 * echoed back and compared byte by byte, then the total at the end), request/response on long-lived connections
 * (each reply compared), new connections (connect, exchange, close) and idle connections (opened at the start,
 * checked with one exchange at the end). Each kind alternates between the two frontends: the swarm (servers from
 * Genesis, which the soak kills) and the static backend (servers that only fail their health checks, so no connection
 * there may ever end early). Plain blocking sockets, one thread per connection: a few dozen threads at these rates.
 */
final class Loads {

    /** Wait after a connection ended before opening the next: keeps a persistent fault from spinning. */
    private static final long REOPEN_PAUSE_MILLIS = 100;
    /** A rate-limited sender never catches up more than this much lost time at once. */
    private static final long MAX_DEBT_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int BULK_CHUNK = 16 * 1024;
    private static final int MAX_REQUEST = 2048;
    private static final int MAX_EXCHANGE = 4096;
    private static final int IDLE_PING = 16;
    /** How often idle connections are looked at: a cut one is replaced within this long. */
    private static final long IDLE_SWEEP_MILLIS = 5_000;

    final Tally bulk = new Tally("bulk");
    final Tally requests = new Tally("request/response");
    final Tally connects = new Tally("new connections");
    final Tally idle = new Tally("idle");

    private final SoakOptions o;
    private final int[] ports;
    private final Casualties casualties;
    private final List<Thread> threads = new ArrayList<>();
    /** Opened in start(), then owned by the idle thread until stop() has joined it. */
    private final List<Conn> idleConns = new ArrayList<>();
    private final AtomicLong seeds = new AtomicLong(0x50a4);
    private volatile boolean stopping;

    /** {@code ports}: the swarm frontend's port and the static frontend's. */
    Loads(SoakOptions o, int[] ports, Casualties casualties) {
        this.o = o;
        this.ports = ports.clone();
        this.casualties = casualties;
    }

    List<Tally> tallies() {
        return List.of(bulk, requests, connects, idle);
    }

    long failures() {
        return tallies().stream().mapToLong(t -> t.failures.get()).sum();
    }

    void start() {
        for (int i = 0; i < o.idle; i++) {
            int port = ports[i % ports.length];
            try {
                idleConns.add(Conn.open(port));
                idle.connections.increment();
            } catch (IOException e) {
                opened(idle, e);
            }
        }
        for (int i = 0; i < o.bulk; i++) {
            int port = ports[i % ports.length];
            spawn("soak-bulk-" + i, () -> bulkLoop(port));
        }
        for (int i = 0; i < o.requestConnections; i++) {
            int port = ports[i % ports.length];
            spawn("soak-rr-" + i, () -> requestLoop(port));
        }
        if (o.connectsPerSecond > 0) {
            spawn("soak-connect", this::connectLoop);
        }
        if (o.idle > 0) {
            spawn("soak-idle", this::idleLoop);
        }
    }

    /** Stops every sender, lets each stream finish and be checked to its last byte, then checks the idle ones. */
    void stop() throws InterruptedException {
        stopping = true;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (Thread t : threads) {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            if (t.isAlive()) {
                t.interrupt();
                bulk.fail(t.getName() + " did not finish within 60 s of the stop");
            }
        }
        for (Conn c : idleConns) {
            checkIdle(c);
        }
        idleConns.clear();
    }

    private void spawn(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        threads.add(t);
        t.start();
    }

    // ---- outcomes ----

    /** A connection that could not be opened up to the announcement. */
    private void opened(Tally t, IOException e) {
        if (e instanceof Conn.CutBeforeAnnounce && casualties.unattributedExpected()) {
            t.cutUnattributed.increment();
        } else {
            t.fail(e.getMessage());
        }
        pause();
    }

    /** A connection to {@code server} that ended before the driver ended it. */
    private void endedEarly(Tally t, Conn c, String what) {
        if (casualties.wasKilled(c.server())) {
            t.cutByKill.increment();
        } else {
            t.fail(what + " (server " + c.server() + " was not killed)");
        }
    }

    private static void pause() {
        try {
            Thread.sleep(REOPEN_PAUSE_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Sleeps until {@code next}; returns the next slot, one period later (debt capped). */
    private static long pace(long next, long periodNanos) {
        long now = System.nanoTime();
        if (next - now > 0) {
            try {
                TimeUnit.NANOSECONDS.sleep(next - now);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else if (now - next > MAX_DEBT_NANOS) {
            next = now - MAX_DEBT_NANOS;
        }
        return next + periodNanos;
    }

    // ---- bulk ----

    private void bulkLoop(int port) {
        SplittableRandom r = new SplittableRandom(seeds.incrementAndGet());
        while (!stopping) {
            Conn c;
            try {
                c = Conn.open(port);
            } catch (IOException e) {
                opened(bulk, e);
                continue;
            }
            bulk.connections.increment();
            try (c) {
                bulkStream(c, r.nextLong(Content.LENGTH));
            }
            if (!stopping) {
                pause();
            }
        }
    }

    private void bulkStream(Conn c, long start) {
        AtomicLong sent = new AtomicLong();
        AtomicBoolean sentAll = new AtomicBoolean();
        Thread writer = new Thread(() -> {
            byte[] buf = new byte[BULK_CHUNK];
            long t0 = System.nanoTime();
            try {
                while (!stopping) {
                    long allowed = (long) (o.bulkBytesPerSecond * ((System.nanoTime() - t0) / 1e9)) - sent.get();
                    if (allowed < BULK_CHUNK) {
                        Thread.sleep(5);
                        continue;
                    }
                    Content.fill(start, sent.get(), buf, 0, BULK_CHUNK);
                    c.out().write(buf);
                    sent.addAndGet(BULK_CHUNK);
                }
                c.shutdownOutput();
                sentAll.set(true);
            } catch (IOException e) {
                // the reader sees the connection end and judges it
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, Thread.currentThread().getName() + "-writer");
        writer.setDaemon(true);
        writer.start();
        byte[] buf = new byte[64 * 1024];
        long got = 0;
        String end;
        try {
            while (true) {
                int n = c.read(buf, 0, buf.length);
                if (n < 0) {
                    end = "closed";
                    break;
                }
                int bad = Content.mismatch(start, got, buf, 0, n);
                if (bad >= 0) {
                    bulk.fail("byte " + (got + bad) + " of the stream through " + c.server() + " differs (lost, "
                        + "reordered or corrupted)");
                    c.close();
                    join(writer);
                    return;
                }
                got += n;
                bulk.bytesVerified.add(n);
            }
        } catch (IOException e) {
            end = e.toString();
        }
        c.close(); // unblocks a writer stuck on a full buffer
        join(writer);
        if (sentAll.get() && got == sent.get()) {
            bulk.ops.increment(); // one stream complete to its last byte
        } else if (sentAll.get() && got > sent.get()) {
            bulk.fail("stream through " + c.server() + " returned " + got + " bytes, " + sent.get() + " were sent");
        } else {
            endedEarly(bulk, c, "stream through " + c.server() + " ended early (" + end + ") after " + got + " of "
                + sent.get() + " bytes");
        }
    }

    private static void join(Thread t) {
        try {
            t.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- request/response ----

    private void requestLoop(int port) {
        SplittableRandom r = new SplittableRandom(seeds.incrementAndGet());
        long period = (long) (1e9 / o.requestsPerSecond);
        byte[] req = new byte[MAX_REQUEST];
        byte[] rep = new byte[MAX_REQUEST];
        while (!stopping) {
            Conn c;
            try {
                c = Conn.open(port);
            } catch (IOException e) {
                opened(requests, e);
                continue;
            }
            requests.connections.increment();
            long start = r.nextLong(Content.LENGTH);
            long pos = 0;
            long next = System.nanoTime();
            try (c) {
                while (!stopping) {
                    int size = 1 + r.nextInt(MAX_REQUEST);
                    Content.fill(start, pos, req, 0, size);
                    c.out().write(req, 0, size);
                    c.readFully(rep, 0, size);
                    int bad = Content.mismatch(start, pos, rep, 0, size);
                    if (bad >= 0) {
                        requests.fail("reply byte " + bad + " of " + size + " from " + c.server() + " differs");
                        break;
                    }
                    pos += size;
                    requests.ops.increment();
                    requests.bytesVerified.add(size);
                    next = pace(next, period);
                }
                if (stopping) {
                    finish(requests, c);
                }
            } catch (IOException e) {
                endedEarly(requests, c, "request/response through " + c.server() + ": " + e);
                pause();
            }
        }
    }

    /** Our FIN, then the server's: nothing may arrive in between (every reply was already read). */
    private void finish(Tally t, Conn c) throws IOException {
        c.shutdownOutput();
        byte[] one = new byte[1];
        int n = c.read(one, 0, 1);
        if (n >= 0) {
            t.fail("bytes nobody asked for from " + c.server() + " after the last reply");
        }
    }

    // ---- new connections ----

    private void connectLoop() {
        SplittableRandom r = new SplittableRandom(seeds.incrementAndGet());
        long period = (long) (1e9 / o.connectsPerSecond);
        byte[] req = new byte[MAX_EXCHANGE];
        byte[] rep = new byte[MAX_EXCHANGE + 1];
        long next = System.nanoTime();
        int i = 0;
        while (!stopping) {
            int port = ports[i++ % ports.length];
            Conn c;
            try {
                c = Conn.open(port);
            } catch (IOException e) {
                opened(connects, e);
                next = System.nanoTime();
                continue;
            }
            connects.connections.increment();
            try (c) {
                long start = r.nextLong(Content.LENGTH);
                int size = 1 + r.nextInt(MAX_EXCHANGE);
                Content.fill(start, 0, req, 0, size);
                c.out().write(req, 0, size);
                c.shutdownOutput();
                int got = 0;
                while (got <= size) {
                    int n = c.read(rep, got, rep.length - got);
                    if (n < 0) {
                        break;
                    }
                    got += n;
                }
                if (got == size && Content.mismatch(start, 0, rep, 0, size) < 0) {
                    connects.ops.increment();
                    connects.bytesVerified.add(size);
                } else if (got > size || Content.mismatch(start, 0, rep, 0, got) >= 0) {
                    connects.fail("exchange of " + size + " bytes with " + c.server() + " returned " + got
                        + " bytes that differ");
                } else {
                    endedEarly(connects, c, "exchange with " + c.server() + " ended after " + got + " of " + size
                        + " bytes");
                }
            } catch (IOException e) {
                endedEarly(connects, c, "exchange with " + c.server() + ": " + e);
            }
            next = pace(next, period);
        }
    }

    // ---- idle ----

    /**
     * Every few seconds, each idle connection is looked at without sending anything: one whose VM was killed is
     * counted and replaced by a new one on the same frontend, so the proxy holds the same number of idle connections
     * for the whole run; one that ended while its server lives is a failure.
     */
    private void idleLoop() {
        while (!stopping) {
            for (int i = 0; i < idleConns.size() && !stopping; i++) {
                Conn c = idleConns.get(i);
                try {
                    if (c.stillOpen()) {
                        continue;
                    }
                    endedEarly(idle, c, "idle connection to " + c.server() + " closed during the run");
                } catch (IOException e) {
                    idle.fail("idle connection to " + c.server() + ": " + e.getMessage());
                }
                c.close();
                int port = ports[i % ports.length];
                try {
                    idleConns.set(i, Conn.open(port));
                    idle.connections.increment();
                } catch (IOException e) {
                    opened(idle, e);
                    i--; // try this slot again
                }
            }
            sleepQuietly(IDLE_SWEEP_MILLIS);
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void checkIdle(Conn c) {
        try (c) {
            byte[] ping = new byte[IDLE_PING];
            byte[] pong = new byte[IDLE_PING];
            Content.fill(7, 0, ping, 0, IDLE_PING);
            c.out().write(ping);
            c.readFully(pong, 0, IDLE_PING);
            if (Content.mismatch(7, 0, pong, 0, IDLE_PING) >= 0) {
                idle.fail("idle connection to " + c.server() + " echoed different bytes");
                return;
            }
            finish(idle, c);
            idle.ops.increment();
            idle.bytesVerified.add(IDLE_PING);
        } catch (IOException e) {
            endedEarly(idle, c, "idle connection to " + c.server() + " is dead at the end: " + e);
        }
    }
}
