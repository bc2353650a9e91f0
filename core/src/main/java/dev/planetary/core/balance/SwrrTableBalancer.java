package dev.planetary.core.balance;

import dev.planetary.core.backend.Server;
import java.util.ArrayList;
import java.util.List;

/**
 * The shared shape of the balancers whose whole state is one smooth-weighted table ({@link Swrr}) over the servers
 * usable when it was built: round robin walks it with a counter, map-based source hashing indexes it by the client's
 * hash. Every control callback rebuilds the table and publishes it whole; a pick only reads it.
 *
 * <p>If the chosen entry's server has become unusable since (before its callback arrived), is full, or is
 * {@code avoid}, the pick moves on along the table for a few entries, then scans the distinct servers once: bounded
 * by {@code PROBES + n}, and null only if no server fits.
 */
abstract class SwrrTableBalancer implements Balancer {

    /** Table entries tried after the chosen one before scanning servers: a cheap, deterministic next choice. */
    private static final int PROBES = 8;

    static final Table EMPTY = new Table(new Server[0], new int[0]);

    /** Control-thread state: the configured servers in list order (SWRR's tie order). */
    private final List<Server> members = new ArrayList<>();
    private volatile Table table = EMPTY;

    SwrrTableBalancer(List<Server> servers) {
        members.addAll(Balancers.distinct(servers));
        rebuild();
    }

    /** Where in a table of {@code length} entries (> 0) this pick starts. */
    abstract int start(int sourceHash, int length);

    @Override
    public final Server pick(int sourceHash, Server avoid) {
        Table t = table;
        int[] seq = t.seq;
        int len = seq.length;
        if (len == 0) {
            return null;
        }
        Server[] servers = t.servers;
        int i = start(sourceHash, len);
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
        return Balancers.claimFirst(servers, seq[i], avoid);
    }

    @Override
    public final void serverUp(Server server) {
        rebuild();
    }

    @Override
    public final void serverDown(Server server) {
        rebuild();
    }

    @Override
    public final void weightChanged(Server server) {
        rebuild();
    }

    @Override
    public final void serverAdded(Server server) {
        if (!members.contains(server)) {
            members.add(server);
        }
        rebuild();
    }

    @Override
    public final void serverRemoved(Server server) {
        members.remove(server);
        rebuild();
    }

    @Override
    public final int usableCount() {
        return table.servers.length;
    }

    /** The current table as servers, for tests and diagnostics. */
    final List<Server> tableView() {
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
