package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

    /** Commits answer from a script; reads answer the given state or fail. */
    private static final class ScriptedStore implements SharedStore {
        final List<Boolean> commits = new ArrayList<>();
        final List<Long> bases = new ArrayList<>();
        Loaded state;

        @Override
        public String describe() {
            return "scripted store";
        }

        @Override
        public synchronized boolean commit(long base, List<Change> changes) {
            bases.add(base);
            return commits.isEmpty() || commits.remove(0);
        }

        @Override
        public synchronized Loaded load(long since) throws IOException {
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
        Random random = new Random(3);
        Registry registry = new Registry(Settings.defaults(), PortPlan.DEFAULT, random, new Faults());
        hub.init(registry.view(), List.of());
        Writer w = new Writer(registry, store, () -> new Registry(Settings.defaults(), PortPlan.DEFAULT, random,
            new Faults()), hub, new FakeClock(), why -> { }, new Faults());
        w.start();
        return w;
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
            assertThatThrownBy(() -> w.submit((reg, now, wall) -> reg.register(registration("mine"), "127.0.0.1", now,
                wall), true).get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).cause().isInstanceOf(Writer.StorageFailure.class)
                .hasMessageContaining("the scripted store does not answer");
            assertThat(hub.view().version()).as("readers keep the last view").isZero();
        } finally {
            w.close();
        }
    }
}
