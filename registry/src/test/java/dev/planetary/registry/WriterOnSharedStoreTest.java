package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.planetary.core.ports.PortPlan;
import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Faults;
import dev.planetary.registry.state.Liveness;
import dev.planetary.registry.state.Registration;
import dev.planetary.registry.state.Registry;
import dev.planetary.registry.state.Released;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.state.Vm;
import dev.planetary.registry.store.SharedStore;
import dev.planetary.registry.testing.FakeClock;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The writer on a shared store, driven deterministically by a scripted store: a lost race reads the state back and
 * applies the same operation again on it; a read-back that fails answers 503 (and never leaves the request waiting).
 */
class WriterOnSharedStoreTest {

    /** What a scripted commit does. */
    enum Outcome {
        /** Stored, and the answer says so. */
        STORED,
        /** Lost the race: nothing stored. */
        LOST,
        /** Stored, but the answer never came (etcd applied it, then the leader changed or quorum went): it throws. */
        STORED_THEN_THROWS,
        /** Only its first change is stored (a multi-transaction commit whose second transaction's answer never came). */
        FIRST_STORED_THEN_THROWS,
        /** Refused by etcd with an answer (nothing stored): the same every time. */
        REFUSED
    }

    /**
     * Commits answer from a script; reads answer the given state or fail. A commit that stores keeps its changes in
     * {@link #state} (VMs added, the log), as etcd would; {@link #stored} answers how many of the last commit's
     * changes it holds (what a read-back of the log finds), or fails while {@link #readable} is false.
     */
    private static final class ScriptedStore implements SharedStore {
        final List<Outcome> outcomes = new ArrayList<>();
        final List<Boolean> commits = new ArrayList<>();
        final List<Long> bases = new ArrayList<>();
        Loaded state;
        boolean readable = true;
        /** Reads of the whole state that fail before they work again. */
        int loadFailures;
        int lastStored;

        /** The changes of an outcome that stores some or all: kept as etcd would keep them. */
        private void keep(long base, List<Change> changes) {
            Loaded s = state != null ? state : new Loaded(0, List.of(), List.of(), List.of(), 1);
            if (s.version() != base) {
                throw new IllegalStateException("the scripted store is at " + s.version() + ", not " + base);
            }
            List<Vm> vms = new ArrayList<>(s.vms());
            List<Change> log = new ArrayList<>(s.log());
            for (Change c : changes) {
                if (c.type() == Change.Type.ADDED) {
                    vms.add(c.vm());
                }
                log.add(c);
            }
            state = new Loaded(changes.get(changes.size() - 1).version(), vms, s.released(), log, s.revision() + 1);
        }

        @Override
        public synchronized int stored(long base, List<Change> changes) throws IOException {
            if (!readable) {
                throw new IOException("the scripted store does not answer");
            }
            return lastStored;
        }

        @Override
        public String describe() {
            return "scripted store";
        }

        @Override
        public synchronized boolean commit(long base, List<Change> changes) throws IOException {
            bases.add(base);
            Outcome o = !outcomes.isEmpty() ? outcomes.remove(0)
                : commits.isEmpty() || commits.remove(0) ? Outcome.STORED : Outcome.LOST;
            lastStored = 0;
            switch (o) {
                case STORED -> {
                    keep(base, changes);
                    lastStored = changes.size();
                    return true;
                }
                case LOST -> {
                    return false;
                }
                case STORED_THEN_THROWS -> {
                    keep(base, changes);
                    lastStored = changes.size();
                    throw new IOException("no answer within 3000 ms (scripted)");
                }
                case REFUSED -> {
                    outcomes.add(0, Outcome.REFUSED);
                    throw new IOException("cannot commit to etcd: etcdserver: request is too large (INVALID_ARGUMENT)");
                }
                default -> {
                    keep(base, changes.subList(0, 1));
                    lastStored = 1;
                    throw new IOException("no answer within 3000 ms (scripted)");
                }
            }
        }

        @Override
        public synchronized Loaded load(long since) throws IOException {
            if (loadFailures > 0) {
                loadFailures--;
                throw new IOException("the scripted store does not answer (a read)");
            }
            if (state == null) {
                throw new IOException("the scripted store does not answer");
            }
            return state;
        }

        @Override
        public void follow(long revision, Consumer<Change> sink, Consumer<String> lost) {
        }

        @Override
        public void followed(Change c) {
        }

        @Override
        public boolean leader() {
            return true;
        }

        @Override
        public void decided(Duties d) {
        }

        @Override
        public Duties duties() {
            return null;
        }

        @Override
        public void refreshLiveness(Map<String, Liveness> liveness, long nowNanos, long ttlNanos) {
        }

        @Override
        public boolean compactDue() {
            return false;
        }

        @Override
        public void compact(long version, List<Vm> vms, List<Released> released) {
        }

        @Override
        public void close() {
        }
    }

    private static Registration registration(String instance) {
        return new Registration(null, 2, 1024, 0, Map.of("ssh", 22), Map.of(), instance);
    }

    private static Writer writer(ScriptedStore store, Hub hub) {
        Writer w = unstarted(store, hub);
        w.start();
        return w;
    }

    /** A writer not yet started: operations submitted before {@link Writer#start} go as one batch. */
    private static Writer unstarted(ScriptedStore store, Hub hub) {
        Random random = new Random(3);
        Registry registry = new Registry(Settings.defaults(), PortPlan.DEFAULT, random, new Faults());
        hub.init(registry.view(), List.of());
        Writer w = new Writer(registry, store, () -> new Registry(Settings.defaults(), PortPlan.DEFAULT, random,
            new Faults()), hub, new FakeClock(), why -> { }, new Faults());
        return w;
    }

    /** A registration with an instance key on {@code w} fails with a StorageFailure (a 503): its assert, for the message. */
    private static org.assertj.core.api.AbstractThrowableAssert<?, ? extends Throwable> assertRegistrationFails(
        Writer w) {
        return assertThatThrownBy(() -> w.submit((reg, now, wall) -> reg.register(registration("mine"), "127.0.0.1",
            now, wall), true).get(10, TimeUnit.SECONDS))
            .isInstanceOf(ExecutionException.class).cause().isInstanceOf(Writer.StorageFailure.class);
    }

    /** What a VM agent does: registers, and registers again (same body, no instance key) after a 503. */
    private static Registry.Registered registerLikeAnAgent(Writer w) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try {
                return w.submit((reg, now, wall) -> reg.register(registration(null), "127.0.0.1", now, wall), true)
                    .get(10, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof Writer.StorageFailure) || attempt == 3) {
                    throw e;
                }
            }
        }
    }

    /**
     * Review #5: etcd applied the transaction and then its answer was lost (a leader change, a quorum loss). The
     * writer reads the log back, finds its own records, and answers as stored: the agent gets its id and ports and
     * has no reason to register again, so no second VM (a phantom holding ports for a TTL and a grace period).
     */
    @Test
    void aCommitThatAppliesAndThenThrowsIsAnsweredAsStoredAndMakesNoSecondVm() throws Exception {
        ScriptedStore store = new ScriptedStore();
        store.outcomes.add(Outcome.STORED_THEN_THROWS);
        Hub hub = new Hub();
        Writer w = writer(store, hub);
        try {
            Registry.Registered r = registerLikeAnAgent(w);
            assertThat(r.version()).isEqualTo(1);
            assertThat(store.bases).as("one commit: the answer came from the read-back").containsExactly(0L);
            assertThat(store.state.vms()).as("one VM stored, no phantom").hasSize(1);
            assertThat(store.state.vms().get(0).id()).isEqualTo(r.vm().id());
            assertThat(store.state.vms().get(0).ports()).isEqualTo(r.vm().ports());
            await().atMost(Duration.ofSeconds(10)).until(() -> hub.view().version() == 1);
            assertThat(hub.view().vms()).containsOnlyKeys(r.vm().id());
        } finally {
            w.close();
        }
    }

    /**
     * A multi-transaction commit whose first transaction is stored and whose second's answer never came: the
     * operation whose change is stored is answered as stored, the other is applied again on the state read back.
     */
    @Test
    void aPartlyStoredCommitAnswersTheStoredOperationsAndAppliesTheRestAgain() throws Exception {
        ScriptedStore store = new ScriptedStore();
        store.outcomes.add(Outcome.FIRST_STORED_THEN_THROWS);
        Hub hub = new Hub();
        Writer w = unstarted(store, hub);
        try {
            var first = w.submit((reg, now, wall) -> reg.register(registration(null), "127.0.0.1", now, wall), true);
            var second = w.submit((reg, now, wall) -> reg.register(registration(null), "127.0.0.2", now, wall), true);
            w.start();
            Registry.Registered r1 = first.get(10, TimeUnit.SECONDS);
            Registry.Registered r2 = second.get(10, TimeUnit.SECONDS);
            assertThat(store.bases).as("one commit of both, then the second again on version 1")
                .containsExactly(0L, 1L);
            assertThat(r1.version()).isEqualTo(1);
            assertThat(r2.version()).isEqualTo(2);
            assertThat(store.state.vms()).extracting(Vm::id).containsExactly(r1.vm().id(), r2.vm().id());
            assertThat(r2.vm().ports().offset()).isNotEqualTo(r1.vm().ports().offset());
            await().atMost(Duration.ofSeconds(10)).until(() -> hub.view().version() == 2);
            assertThat(hub.view().vms()).containsOnlyKeys(r1.vm().id(), r2.vm().id());
        } finally {
            w.close();
        }
    }

    /** The read-back itself fails (no quorum): whether the batch is stored stays unknown, and the answer is 503. */
    @Test
    void aCommitWhoseOutcomeCannotBeReadBackAnswers503() throws Exception {
        ScriptedStore store = new ScriptedStore();
        store.outcomes.add(Outcome.STORED_THEN_THROWS);
        store.readable = false;
        Hub hub = new Hub();
        Writer w = writer(store, hub);
        try {
            assertRegistrationFails(w).hasMessageContaining("cannot be written now");
            assertThat(hub.view().version()).as("readers keep the last view").isZero();
        } finally {
            w.close();
        }
    }

    @Test
    void aLostRaceReadsTheStateBackAndAppliesTheSameRegistrationOnIt() throws Exception {
        ScriptedStore store = new ScriptedStore();
        Vm other = new Vm("vm_0000aa", "theirs", "127.0.0.9", 1, 0, 0, Map.of(), Map.of(), PortPlan.DEFAULT.ports(7),
            Vm.Status.ACTIVE, 0, "hash");
        Change theirs = new Change(1, Change.Type.ADDED, other, "registered");
        store.state = new SharedStore.Loaded(1, List.of(other), List.of(), List.of(theirs), 10);
        store.commits.add(false);
        Hub hub = new Hub();
        Writer w = writer(store, hub);
        try {
            Registry.Registered r = w.submit((reg, now, wall) -> reg.register(registration("mine"), "127.0.0.1", now,
                wall), true).get(10, TimeUnit.SECONDS);
            assertThat(store.bases).containsExactly(0L, 1L);
            assertThat(r.version()).isEqualTo(2);
            assertThat(r.vm().ports().offset()).isNotEqualTo(7);
            assertThat(hub.view().vms()).containsKeys("vm_0000aa", r.vm().id());
            assertThat(hub.view().version()).isEqualTo(2);
        } finally {
            w.close();
        }
    }

    @Test
    void aLostRaceWhoseReadBackFailsAnswers503() throws Exception {
        ScriptedStore store = new ScriptedStore();
        store.commits.add(false);
        Hub hub = new Hub();
        Writer w = writer(store, hub);
        try {
            assertRegistrationFails(w).hasMessageContaining("the scripted store does not answer");
            assertThat(hub.view().version()).as("readers keep the last view").isZero();
        } finally {
            w.close();
        }
    }

    /**
     * Review finding 3: an error etcd answered (here "request is too large") is not an unknown outcome: one commit,
     * one 503 that names the cause; not 16 read-backs and reloads ending in "lost to other Genesis instances".
     */
    @Test
    void aCommitEtcdRefusesAnswers503WithItsReasonAfterOneTry() throws Exception {
        ScriptedStore store = new ScriptedStore();
        store.outcomes.add(Outcome.REFUSED);
        store.state = new SharedStore.Loaded(0, List.of(), List.of(), List.of(), 1);
        Hub hub = new Hub();
        Writer w = writer(store, hub);
        try {
            assertRegistrationFails(w).hasMessageContaining("too large");
            assertThat(store.bases).as("one commit, no retries").hasSize(1);
        } finally {
            w.close();
        }
    }

    /** Only an answer that never came counts as unknown (it may have applied); an answer of etcd's does not. */
    @Test
    void onlyLostAnswersAreUnknownOutcomes() {
        assertThat(Writer.outcomeUnknown(new IOException("cannot commit to etcd: no answer within 3000 ms"))).isTrue();
        assertThat(Writer.outcomeUnknown(new IOException("x: etcdserver: leader changed (UNAVAILABLE)"))).isTrue();
        assertThat(Writer.outcomeUnknown(new IOException("x", new java.util.concurrent.TimeoutException()))).isTrue();
        // the member the transaction went to died with it in flight (seen in a clean-clone run: QuorumLossAnswerTimeTest)
        assertThat(Writer.outcomeUnknown(new IOException(
            "cannot commit to etcd [u]: io.grpc.StatusRuntimeException: UNKNOWN: channel closed"))).isTrue();
        assertThat(Writer.outcomeUnknown(new IOException("x: etcdserver: request is too large (INVALID_ARGUMENT)")))
            .isFalse();
        assertThat(Writer.outcomeUnknown(new IOException("x: etcdserver: permission denied (PERMISSION_DENIED)")))
            .isFalse();
    }

    /**
     * Review finding 8: the read-back says the registration is stored, but reading the state back then fails once.
     * Its 201 waits until the hub shows the VM (the next round reads the state again and publishes): an answer before
     * that would send heartbeats this instance answers 404.
     */
    @Test
    void aStoredAnswerNeverLeavesBeforeTheHubShowsIt() throws Exception {
        ScriptedStore store = new ScriptedStore();
        store.outcomes.add(Outcome.STORED_THEN_THROWS);
        store.loadFailures = 1;
        Hub hub = new Hub();
        Writer w = writer(store, hub);
        try {
            Registry.Registered r = w.submit((reg, now, wall) -> reg.register(registration(null), "127.0.0.1", now,
                wall), true).get(10, TimeUnit.SECONDS);
            assertThat(hub.view().vms()).as("the hub shows what was answered").containsKey(r.vm().id());
            assertThat(store.bases).containsExactly(0L);
        } finally {
            w.close();
        }
    }
}
