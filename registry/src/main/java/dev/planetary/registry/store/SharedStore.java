package dev.planetary.registry.store;

import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Liveness;
import dev.planetary.registry.state.Released;
import dev.planetary.registry.state.Vm;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A {@link StateStore} that several Genesis instances share (etcd): a commit can lose the race to another instance,
 * every instance follows the others' commits, and the timed duties run on one elected instance only. The writer
 * thread is its only caller except {@link #follow}'s callbacks, which come on the store's own threads.
 */
public interface SharedStore extends StateStore {

    /**
     * The whole state as one consistent read: its version, the VMs, the reservations in their grace period, the kept
     * change records after the version asked for (in version order), and the store revision of the read (follow from
     * the next one).
     */
    record Loaded(long version, List<Vm> vms, List<Released> released, List<Change> log, long revision) {
    }

    /**
     * After {@link #commit} returned false or threw for {@code changes} on {@code base}: how many of them (a prefix, in
     * version order) the store holds. A lost race knows it without asking (the transactions before the lost one of a
     * multi-transaction commit). A commit that threw (a timeout at an etcd leader change or quorum loss) may have been
     * applied: the store reads its records back and tells its own from another instance's by the tag the commit
     * wrote in each, after fencing the attempt so that it cannot apply later. An exception: the store cannot tell
     * (no quorum); the outcome stays unknown.
     */
    int stored(long base, List<Change> changes) throws IOException;

    /** Reads the state back and takes it as the base of the next commit; {@code log} holds the records after {@code since}. */
    Loaded load(long since) throws IOException;

    /**
     * Follows every instance's commits from store revision {@code revision}: each change record, in version order, to
     * {@code sink}; {@code lost} once when following broke (history compacted away, the store unreachable for good),
     * after which the caller reloads and follows again from the new revision. Replaces any earlier follow.
     */
    void follow(long revision, Consumer<Change> sink, Consumer<String> lost);

    /**
     * Before each tick (every instance: only the leader's decides anything): brings the registry's heartbeat state up to what the store knows of heartbeats
     * answered by every instance (etcd: the VMs' leases).
     */
    void refreshLiveness(Map<String, Liveness> liveness, long nowNanos, long ttlNanos);

    /** Another instance's change {@code c} was applied to the registry (on the writer thread). */
    void followed(Change c);

    /**
     * The leader's standing decisions, shown by every instance (status, dashboard, watch snapshots): whether
     * self-preservation is on and whether expiry is held after a fault of the leader's own.
     */
    record Duties(boolean selfPreservation, boolean expiryHeld) {
        /** Nothing decided yet (no leader ever wrote one): neither. */
        public static final Duties NONE = new Duties(false, false);

        /** As stored: {@code {"self_preservation":B,"expiry_held":B}}. */
        public String wire() {
            return "{\"self_preservation\":" + selfPreservation + ",\"expiry_held\":" + expiryHeld + "}";
        }

        /** Reads {@link #wire()}; anything else reads as {@link #NONE} (a damaged key decides nothing). */
        public static Duties ofWire(String s) {
            return new Duties(s.contains("\"self_preservation\":true"), s.contains("\"expiry_held\":true"));
        }
    }

    /** On the leader, after each round: its standing decisions, for the other instances to show. */
    void decided(Duties d);

    /** On another instance: the leader's standing decisions as last read (null: not read yet). */
    Duties duties();

    /** True while this instance holds the leadership: only then does it run expiry, drain, grace and self-preservation. */
    boolean leader();
}
