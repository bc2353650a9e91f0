package dev.planetary.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.ports.PortPlan;
import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Released;
import dev.planetary.registry.state.Vm;
import dev.planetary.registry.testing.EtcdProcess;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.kv.GetResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/** The etcd store's commit against a real etcd: one transaction per batch, one version order, no shared offset. */
class EtcdStoreTest {

    /** Contested rounds: each is two instances committing the same base at the same moment. */
    private static final int ROUNDS = 20;

    @TempDir
    static Path dir;
    static EtcdProcess etcd;

    @BeforeAll
    static void startEtcd() throws Exception {
        etcd = EtcdProcess.start(dir.resolve("etcd"));
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) {
            etcd.close();
        }
    }

    private static String prefix(TestInfo info) {
        return "/test/" + info.getTestMethod().orElseThrow().getName() + "/";
    }

    private static Change added(long version, String id, int offset) {
        Vm vm = new Vm(id, "host-" + id, "127.0.0.1", 2, 1024, 0, Map.of("ssh", 22), Map.of(),
            PortPlan.DEFAULT.ports(offset), Vm.Status.ACTIVE, 0, "hash-of-" + id);
        return new Change(version, Change.Type.ADDED, vm, "registered");
    }

    private static String get(Client c, String key) throws Exception {
        GetResponse r = c.getKVClient().get(ByteSequence.from(key, StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
        return r.getKvs().isEmpty() ? null : r.getKvs().get(0).getValue().toString(StandardCharsets.UTF_8);
    }

    @Test
    void aBatchIsOneTransactionAndTheVersionFollowsIt(TestInfo info) throws Exception {
        String p = prefix(info);
        try (EtcdStore s = EtcdStore.open(etcd.endpoints(), p);
             Client c = Client.builder().endpoints(etcd.url()).build()) {
            assertThat(s.commit(0, List.of(added(1, "vm_a", 1)))).isTrue();
            Change draining = new Change(3, Change.Type.DRAINING,
                added(3, "vm_b", 2).vm().withStatus(Vm.Status.DRAINING), "left");
            assertThat(s.commit(1, List.of(added(2, "vm_b", 2), draining))).isTrue();
            assertThat(get(c, p + "version")).isEqualTo("3");
            assertThat(get(c, p + "port/1")).isEqualTo("vm_a");
            assertThat(get(c, p + "port/2")).isEqualTo("vm_b");
            assertThat(get(c, p + "key/host-vm_b")).isEqualTo("vm_b");
            assertThat(get(c, p + "vm/vm_b")).contains("\"draining\"").contains("hash-of-vm_b");
            assertThat(get(c, p + "log/00000000000000000002")).contains("vm_b");
            assertThat(get(c, p + "log/00000000000000000003")).contains("draining");
            // a batch made on a stale base is refused whole
            assertThat(s.commit(1, List.of(added(2, "vm_c", 5)))).isFalse();
            assertThat(get(c, p + "vm/vm_c")).isNull();
            assertThat(get(c, p + "version")).isEqualTo("3");
        }
    }

    /**
     * Review #5: a commit whose answer was lost is read back, and its records are told from another instance's by
     * the tag each carries; the read-back moves the instance's fence, and its later commits go on.
     */
    @Test
    void aCommitWhoseAnswerWasLostIsReadBackAndToldFromAnotherInstancesByItsTag(TestInfo info) throws Exception {
        String p = prefix(info);
        try (EtcdStore a = EtcdStore.open(etcd.endpoints(), p);
             EtcdStore b = EtcdStore.open(etcd.endpoints(), p)) {
            List<Change> mine = List.of(added(1, "vm_a", 1), added(2, "vm_b", 2));
            assertThat(a.commit(0, mine)).isTrue();
            a.outcomeUnknown();
            assertThat(a.stored(0, mine)).as("both records are this commit's").isEqualTo(2);
            // b takes version 3 first: a's commit on base 2 is not stored, and the read-back sees b's record there
            assertThat(b.commit(2, List.of(added(3, "vm_c", 3)))).isTrue();
            List<Change> lost = List.of(added(3, "vm_d", 4));
            assertThat(a.commit(2, lost)).isFalse();
            a.outcomeUnknown();
            assertThat(a.stored(2, lost)).as("version 3 is b's, not a's").isZero();
            a.load();
            assertThat(a.commit(3, List.of(added(4, "vm_d", 4)))).as("commits pass the moved fence").isTrue();
            assertThat(a.load().version()).isEqualTo(4);
        }
    }

    /**
     * A read-back whose fence move applied but whose answer never came: the fence value the commits compare is then
     * unknown. Without moving it again first, every later commit would compare a stale value and lose forever.
     */
    @Test
    void aFenceMoveWithoutAnswerIsMovedAgainBeforeTheNextCommit(TestInfo info) throws Exception {
        String p = prefix(info);
        try (EtcdStore a = EtcdStore.open(etcd.endpoints(), p);
             Client c = Client.builder().endpoints(etcd.url()).build()) {
            assertThat(a.commit(0, List.of(added(1, "vm_a", 1)))).isTrue();
            // the move applied (etcd holds a value a never learnt), its answer lost
            c.getKVClient().put(a.fenceKeyForTests(), ByteSequence.from("moved-unanswered", StandardCharsets.UTF_8))
                .get(10, TimeUnit.SECONDS);
            a.fenceMoveUnanswered();
            assertThat(a.commit(1, List.of(added(2, "vm_b", 2)))).isTrue();
            assertThat(get(c, p + "version")).isEqualTo("2");
        }
    }

    /**
     * Review finding 1: the fence key holds another value than the instance remembers (a move applied late, a
     * restore, an operator deleting the key). That is not a lost race: the commit moves the fence and goes on, instead
     * of failing its compare forever (every batch 16 reloads, then 503 "busy").
     */
    @Test
    void aFenceKeyChangedOrDeletedBehindTheInstanceIsMovedAndCommitsGoOn(TestInfo info) throws Exception {
        String p = prefix(info);
        try (EtcdStore a = EtcdStore.open(etcd.endpoints(), p);
             Client c = Client.builder().endpoints(etcd.url()).build()) {
            assertThat(a.commit(0, List.of(added(1, "vm_a", 1)))).isTrue();
            a.outcomeUnknown();
            assertThat(a.stored(0, List.of(added(1, "vm_a", 1)))).isEqualTo(1); // moves the fence
            c.getKVClient().put(a.fenceKeyForTests(), ByteSequence.from("stale", StandardCharsets.UTF_8))
                .get(10, TimeUnit.SECONDS);
            assertThat(a.commit(1, List.of(added(2, "vm_b", 2)))).as("a changed fence is not a lost race").isTrue();
            c.getKVClient().delete(a.fenceKeyForTests()).get(10, TimeUnit.SECONDS);
            assertThat(a.commit(2, List.of(added(3, "vm_c", 3)))).as("nor is a deleted one").isTrue();
            assertThat(get(c, p + "version")).isEqualTo("3");
        }
    }

    /**
     * The fence's purpose: a transaction built on the fence before a read-back can no longer apply after it (here a
     * transaction comparing the old value stands in for the lost one etcd still holds); fence values only grow.
     */
    @Test
    void afterAReadBackATransactionOnTheOldFenceCannotApply(TestInfo info) throws Exception {
        String p = prefix(info);
        try (EtcdStore a = EtcdStore.open(etcd.endpoints(), p);
             Client c = Client.builder().endpoints(etcd.url()).build()) {
            assertThat(a.commit(0, List.of(added(1, "vm_a", 1)))).isTrue();
            a.outcomeUnknown();
            a.stored(0, List.of(added(1, "vm_a", 1)));
            String first = get(c, a.fenceKeyForTests().toString(StandardCharsets.UTF_8));
            a.outcomeUnknown();
            a.stored(0, List.of(added(1, "vm_a", 1)));
            String second = get(c, a.fenceKeyForTests().toString(StandardCharsets.UTF_8));
            assertThat(second).isGreaterThan(first);
            // a transaction that compares the old fence value (the lost one, applied late) is refused by etcd
            var k = a.fenceKeyForTests();
            var lost = c.getKVClient().txn().If(new io.etcd.jetcd.op.Cmp(k, io.etcd.jetcd.op.Cmp.Op.EQUAL,
                    io.etcd.jetcd.op.CmpTarget.value(ByteSequence.from(first, StandardCharsets.UTF_8))))
                .Then(io.etcd.jetcd.op.Op.put(ByteSequence.from(p + "version", StandardCharsets.UTF_8),
                    ByteSequence.from("99", StandardCharsets.UTF_8), io.etcd.jetcd.options.PutOption.DEFAULT))
                .commit().get(10, TimeUnit.SECONDS);
            assertThat(lost.isSucceeded()).isFalse();
            assertThat(get(c, p + "version")).isEqualTo("1");
        }
    }

    /**
     * Review finding 3: chunks are cut by bytes as well as by count. Twenty registrations with 100 KB of labels each
     * (a mass re-registration after an outage) are 4 MB in one transaction: etcd refuses it (default
     * {@code --max-request-bytes} 1.5 MiB). Cut by bytes, they are stored.
     */
    @Test
    void aBatchOfLargeRecordsIsCutByBytesUnderEtcdsRequestLimit(TestInfo info) throws Exception {
        String p = prefix(info);
        String big = "x".repeat(100_000);
        List<Change> changes = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            Vm vm = new Vm("vm_" + i, "host-" + i, "127.0.0.1", 2, 1024, 0, Map.of("ssh", 22), Map.of("big", big),
                PortPlan.DEFAULT.ports(i), Vm.Status.ACTIVE, 0, "hash-" + i);
            changes.add(new Change(i, Change.Type.ADDED, vm, "registered"));
        }
        try (EtcdStore a = EtcdStore.open(etcd.endpoints(), p);
             Client c = Client.builder().endpoints(etcd.url()).build()) {
            assertThat(a.commit(0, changes)).isTrue();
            assertThat(get(c, p + "version")).isEqualTo("20");
        }
    }

    /** Review finding 8: a closed store deletes its fence key (one per process: they would pile up). */
    @Test
    void closingDeletesTheFenceKey(TestInfo info) throws Exception {
        String p = prefix(info);
        try (Client c = Client.builder().endpoints(etcd.url()).build()) {
            String fenceKey;
            try (EtcdStore a = EtcdStore.open(etcd.endpoints(), p)) {
                assertThat(a.commit(0, List.of(added(1, "vm_a", 1)))).isTrue();
                a.outcomeUnknown();
                a.stored(0, List.of(added(1, "vm_a", 1)));
                fenceKey = a.fenceKeyForTests().toString(StandardCharsets.UTF_8);
                assertThat(get(c, fenceKey)).isNotNull();
            }
            assertThat(get(c, fenceKey)).isNull();
        }
    }

    @Test
    void twoInstancesCommittingAtOnceNeverHandOutTheSameOffset(TestInfo info) throws Exception {
        String p = prefix(info);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (EtcdStore a = EtcdStore.open(etcd.endpoints(), p);
             EtcdStore b = EtcdStore.open(etcd.endpoints(), p);
             Client c = Client.builder().endpoints(etcd.url()).build()) {
            List<String> winners = new ArrayList<>();
            for (int round = 0; round < ROUNDS; round++) {
                long base = round;
                int offset = round + 1; // offset 0 is each range's balanced entrance, never a VM's
                CyclicBarrier together = new CyclicBarrier(2);
                CompletableFuture<Boolean> fa = CompletableFuture.supplyAsync(() ->
                    commitTogether(together, a, base, added(base + 1, "vm_a" + offset, offset)), pool);
                CompletableFuture<Boolean> fb = CompletableFuture.supplyAsync(() ->
                    commitTogether(together, b, base, added(base + 1, "vm_b" + offset, offset)), pool);
                boolean wonA = fa.get(30, TimeUnit.SECONDS);
                boolean wonB = fb.get(30, TimeUnit.SECONDS);
                assertThat(wonA ^ wonB).as("round %d: exactly one of two commits wins (a %s, b %s)", round, wonA, wonB)
                    .isTrue();
                String winner = (wonA ? "vm_a" : "vm_b") + offset;
                assertThat(get(c, p + "port/" + offset)).isEqualTo(winner);
                assertThat(get(c, p + "vm/" + (wonA ? "vm_b" : "vm_a") + offset)).as("the loser left nothing").isNull();
                winners.add(winner);
            }
            assertThat(get(c, p + "version")).isEqualTo(Integer.toString(ROUNDS));
            assertThat(winners).doesNotHaveDuplicates().hasSize(ROUNDS);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void etcdRefusesAnOffsetAnotherVmHoldsEvenWhenTheVersionMatches(TestInfo info) throws Exception {
        String p = prefix(info);
        try (EtcdStore a = EtcdStore.open(etcd.endpoints(), p);
             EtcdStore b = EtcdStore.open(etcd.endpoints(), p);
             Client c = Client.builder().endpoints(etcd.url()).build()) {
            assertThat(a.commit(0, List.of(added(1, "vm_a", 3)))).isTrue();
            // b's base version is right but it believes offset 3 free: the port compare, not the version, refuses it
            assertThat(b.commit(1, List.of(added(2, "vm_b", 3)))).isFalse();
            assertThat(get(c, p + "port/3")).isEqualTo("vm_a");
            assertThat(b.commit(1, List.of(added(2, "vm_b", 4)))).isTrue();
            assertThat(get(c, p + "version")).isEqualTo("2");
        }
    }

    @Test
    void etcdRefusesASecondIdForOneInstanceKeyEvenWhenTheVersionMatches(TestInfo info) throws Exception {
        String p = prefix(info);
        try (EtcdStore a = EtcdStore.open(etcd.endpoints(), p);
             EtcdStore b = EtcdStore.open(etcd.endpoints(), p);
             Client c = Client.builder().endpoints(etcd.url()).build()) {
            Vm first = added(1, "vm_k1", 8).vm();
            assertThat(a.commit(0, List.of(added(1, "vm_k1", 8)))).isTrue();
            // b believes the instance key unused: a second id for it would break idempotent re-registration
            Vm second = new Vm("vm_k2", first.instance(), "127.0.0.1", 2, 1024, 0, Map.of(), Map.of(),
                PortPlan.DEFAULT.ports(9), Vm.Status.ACTIVE, 0, null);
            assertThat(b.commit(1, List.of(new Change(2, Change.Type.ADDED, second, "registered")))).isFalse();
            assertThat(get(c, p + "key/" + first.instance())).isEqualTo("vm_k1");
            assertThat(get(c, p + "port/9")).isNull();
        }
    }

    @Test
    void aReservationInGraceIsReadBackWithWhatItsReRegistrationProves(TestInfo info) throws Exception {
        String p = prefix(info);
        try (EtcdStore a = EtcdStore.open(etcd.endpoints(), p); EtcdStore b = EtcdStore.open(etcd.endpoints(), p)) {
            Vm vm = added(1, "vm_g", 6).vm();
            assertThat(a.commit(0, List.of(added(1, "vm_g", 6), added(2, "vm_h", 7),
                new Change(3, Change.Type.REMOVED, vm, "expired")))).isTrue();
            dev.planetary.registry.store.SharedStore.Loaded loaded = b.load();
            assertThat(loaded.version()).isEqualTo(3);
            assertThat(loaded.vms()).extracting(Vm::id).containsExactly("vm_h");
            assertThat(loaded.released()).containsExactly(
                new Released("vm_g", vm.instance(), vm.ports(), vm.ip(), "hash-of-vm_g"));
            // b took the holders from etcd: a new VM on the reserved offset is refused without a write (the writer
            // then reads the state back, as after a lost race), the release frees it
            assertThat(b.commit(3, List.of(added(4, "vm_x", 6)))).isFalse();
            assertThat(b.load().version()).isEqualTo(3);
            assertThat(b.commit(3, List.of(new Change(4, Change.Type.RELEASED, null, loaded.released().get(0),
                Change.GRACE_EXPIRED), added(5, "vm_x", 6)))).isTrue();
            assertThat(b.load().released()).isEmpty();
        }
    }

    private static boolean commitTogether(CyclicBarrier together, EtcdStore s, long base, Change change) {
        try {
            together.await(30, TimeUnit.SECONDS);
            return s.commit(base, List.of(change));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
