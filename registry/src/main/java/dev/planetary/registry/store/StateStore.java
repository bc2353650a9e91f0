package dev.planetary.registry.store;

import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Released;
import dev.planetary.registry.state.Vm;
import java.io.Closeable;
import java.io.IOException;
import java.util.List;

/**
 * Where Genesis' state is made durable: the local write-ahead log ({@link Store}, {@code --store local}, one Genesis
 * per data dir) or etcd ({@code --store etcd}, several interchangeable Genesis instances on one etcd cluster).
 *
 * <h2>The contract</h2>
 * The in-memory {@code Registry} stays the one state machine that decides everything (port choice, idempotent
 * re-registration by instance key, secret checks against the stored hash, grace reservations, drain, expiry): it is
 * deterministic given its state, the operations and the time. A store only orders and keeps its {@link Change}s.
 * The writer thread applies a batch of operations on top of the state at version {@code base} and hands the batch's
 * changes to {@link #commit}; no answer leaves before it returns {@code true}.
 * <ul>
 *   <li><b>Total order, one version sequence.</b> {@link #commit} succeeds only if nothing else was committed after
 *   {@code base}: the versions of its changes are {@code base+1..base+n} on every instance. A {@code false} means
 *   another Genesis instance won the race: the writer drops the batch's in-memory effect, catches up with the
 *   changes that won (they arrive through the store's follow stream), and re-applies the same operations. So two
 *   instances registering at the same moment never hand out the same offset (the loser re-picks on the new state),
 *   a re-registration by instance key finds the VM the winner created, and {@code ?since=V} means the same on every
 *   instance. The local log is the only writer of its locked data dir: its commit never loses.</li>
 *   <li><b>Collision-free ports, checked by the store itself.</b> Besides the version compare, a store that can
 *   (etcd) also refuses a commit that claims a port offset another VM holds (compare-and-swap on the offset key):
 *   the invariant does not rest on the version compare alone.</li>
 *   <li><b>Secrets are stored hashed</b> (the VM record carries {@code VmSecret}'s hash, never the secret).</li>
 *   <li><b>Time-driven decisions are taken once.</b> Expiry, drain completion, grace release and the
 *   self-preservation decision are changes like any other; with several instances only the elected leader (etcd:
 *   a lease-held election key) runs them, so self-preservation is decided once for the swarm, not by each instance
 *   from its own partial view of heartbeats.</li>
 *   <li><b>Compaction.</b> {@link #compactDue}/{@link #compact} bound recovery: the local log writes a snapshot
 *   and empties the log; etcd compacts revisions older than the kept history (a {@code since} older than the kept
 *   history relists, as it does today after a snapshot).</li>
 * </ul>
 * Heartbeats are not changes (they stay off the writer and off the disk); with etcd they become lease keep-alives.
 * The README section "Genesis on etcd" gives the etcd key layout and transaction.
 */
public interface StateStore extends Closeable {

    /** Where the state lives, for messages: "data dir /var/lib/genesis", "etcd http://127.0.0.1:2379". */
    String describe();

    /**
     * Makes {@code changes} (versions {@code base+1..}, in order) durable, if nothing else was committed after
     * {@code base}. True: durable, the answers may leave. False: another instance committed first; nothing of this
     * batch is stored. An exception: the store could not be written, and whether the batch is stored is unknown to
     * the caller (the local log stops taking changes; a {@link SharedStore} is asked {@link SharedStore#stored}, and
     * only when that cannot be read either do the requests answer 503 until the store answers again).
     */
    boolean commit(long base, List<Change> changes) throws IOException;

    /** True when enough history accumulated that {@link #compact} should run (bounds recovery time). */
    boolean compactDue();

    /** Keeps the whole state at {@code version} and drops the history before it. */
    void compact(long version, List<Vm> vms, List<Released> released) throws IOException;
}
