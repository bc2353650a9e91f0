package dev.planetary.core.balance;

import dev.planetary.core.backend.Server;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code balance roundrobin}: nginx's smooth weighted round robin (weights 5,1,1 give a a b a c a a).
 *
 * <p>The whole SWRR cycle is precomputed by {@link Swrr} into an immutable table of server indices on every control
 * callback and published whole through a volatile field; a pick is one shared {@code getAndIncrement} and one table
 * read, O(1) whatever the server count. The counter is global to the balancer, so event loops interleave in one
 * sequence. Weights are divided by their gcd and scaled down when they sum above {@link Swrr#MAX_TABLE}.
 *
 * <p>The table holds only servers usable when it was built. If the chosen server has become unusable since (before
 * its callback arrived), is full, or is {@code avoid}, the pick moves on along the table for a few entries and then
 * scans the distinct servers once, so it is bounded by {@code PROBES + n} and returns null only if no server fits.
 */
public final class RoundRobinBalancer implements Balancer {

    /** Table entries tried after the chosen one before scanning servers: a cheap next-in-sequence first. */
    private static final int PROBES = 8;

    private static final Table EMPTY = new Table(new Server[0], new int[0]);

    /** Control-thread state: the configured servers in list order (SWRR's tie order). */
    private final List<Server> members = new ArrayList<>();
    private final AtomicLong counter = new AtomicLong();
    private volatile Table table = EMPTY;

    public RoundRobinBalancer(List<Server> servers) {
        members.addAll(Balancers.distinct(servers));
        rebuild();
    }

    @Override
    public Server pick(int sourceHash, Server avoid) {
        Table t = table;
        int[] seq = t.seq;
        int len = seq.length;
        if (len == 0) {
            return null;
        }
        Server[] servers = t.servers;
        int i = Math.floorMod(counter.getAndIncrement(), len);
        int probes = Math.min(len, PROBES + 1);
        for (int p = 0; p < probes; p++) {
            Server s = servers[seq[i]];
            if (s != avoid && s.usable() && s.tryAcquire()) {
                return s;
            }
            if (++i == len) {
                i = 0;
            }
        }
        int n = servers.length;
        int k = seq[i];
        for (int j = 0; j < n; j++) {
            Server s = servers[k];
            if (s != avoid && s.usable() && s.tryAcquire()) {
                return s;
            }
            if (++k == n) {
                k = 0;
            }
        }
        return null;
    }

    @Override
    public void released(Server server) {
        server.release();
    }

    @Override
    public void serverUp(Server server) {
        rebuild();
    }

    @Override
    public void serverDown(Server server) {
        rebuild();
    }

    @Override
    public void weightChanged(Server server) {
        rebuild();
    }

    @Override
    public void serverAdded(Server server) {
        if (!members.contains(server)) {
            members.add(server);
        }
        rebuild();
    }

    @Override
    public void serverRemoved(Server server) {
        members.remove(server);
        rebuild();
    }

    @Override
    public int usableCount() {
        return table.servers.length;
    }

    /** The current cycle as servers, for tests and diagnostics. */
    List<Server> cycle() {
        Table t = table;
        List<Server> out = new ArrayList<>(t.seq.length);
        for (int i : t.seq) {
            out.add(t.servers[i]);
        }
        return out;
    }

    private void rebuild() {
        table = Table.of(members);
    }

    /** An immutable SWRR cycle over the servers usable at build time. */
    static final class Table {
        final Server[] servers;
        final int[] seq;

        private Table(Server[] servers, int[] seq) {
            this.servers = servers;
            this.seq = seq;
        }

        static Table of(List<Server> members) {
            List<Server> usable = new ArrayList<>(members.size());
            List<Integer> weights = new ArrayList<>(members.size());
            for (Server s : members) {
                int w = s.weight();
                if (s.usable() && w > 0) {
                    usable.add(s);
                    weights.add(w);
                }
            }
            if (usable.isEmpty()) {
                return EMPTY;
            }
            int[] w = weights.stream().mapToInt(Integer::intValue).toArray();
            return new Table(usable.toArray(new Server[0]), Swrr.sequence(w));
        }
    }
}
