package dev.planetary.core.balance;

import static dev.planetary.core.balance.TestServers.server;
import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.backend.Server;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SourceHashBalancerTest {

    private static final int CLIENTS = 1_000_000;
    private static int[] clients;

    @BeforeAll
    static void clients() {
        // IPv4-like: the raw address int, as the proxy passes it (InetAddress.hashCode() is the same value).
        clients = new Random(42).ints(CLIENTS).toArray();
    }

    private static Map<Server, Integer> countOwners(SourceHashBalancer b) {
        Map<Server, Integer> counts = new IdentityHashMap<>();
        for (int h : clients) {
            counts.merge(b.owner(h), 1, Integer::sum);
        }
        return counts;
    }

    private static Server[] owners(SourceHashBalancer b) {
        Server[] out = new Server[clients.length];
        for (int i = 0; i < clients.length; i++) {
            out[i] = b.owner(clients[i]);
        }
        return out;
    }

    /** Bucket owners by server name, for comparing balancers built from different Server objects. */
    private static String[] table(SourceHashBalancer b) {
        String[] out = new String[b.tableSize()];
        for (int i = 0; i < out.length; i++) {
            Server s = b.ownerOfBucket(i);
            out[i] = s == null ? null : s.name();
        }
        return out;
    }

    @Test
    void hundredEqualServersWithinFivePercent() {
        List<Server> servers = TestServers.servers(100, 1);
        SourceHashBalancer b = new SourceHashBalancer(servers);
        Map<Server, Integer> counts = countOwners(b);
        assertThat(counts).hasSize(100);
        double mean = CLIENTS / 100.0;
        for (Map.Entry<Server, Integer> e : counts.entrySet()) {
            assertThat(e.getValue()).as("%s", e.getKey()).isBetween((int) (mean * 0.95), (int) (mean * 1.05));
        }
        // The table itself is tighter still: 41,943 buckets each on average.
        for (int c : b.bucketCounts().values()) {
            assertThat(c).isBetween(41_943 * 98 / 100, 41_943 * 102 / 100);
        }
        // pick agrees with the table while nothing is full.
        for (int i = 0; i < 1000; i++) {
            Server s = b.pick(clients[i], null);
            assertThat(s).isSameAs(b.owner(clients[i]));
            b.released(s);
        }
    }

    @Test
    void removingAServerMovesOnlyItsClientsAndSpreadsThem() {
        List<Server> servers = TestServers.servers(100, 1);
        SourceHashBalancer b = new SourceHashBalancer(servers);
        Server[] before = owners(b);
        Server gone = servers.get(37);
        b.serverRemoved(gone);
        Server[] after = owners(b);
        Map<Server, Integer> receivers = new IdentityHashMap<>();
        int movedAway = 0;
        for (int i = 0; i < clients.length; i++) {
            if (before[i] == gone) {
                movedAway++;
                assertThat(after[i]).isNotSameAs(gone);
                receivers.merge(after[i], 1, Integer::sum);
            } else {
                assertThat(after[i]).isSameAs(before[i]);
            }
        }
        assertThat(movedAway).isBetween(9_000, 11_000);
        assertThat(receivers.size()).isGreaterThanOrEqualTo(95);
        assertThat(Collections.max(receivers.values())).isLessThan(movedAway / 20);
        // Adding it back restores the exact table.
        b.serverAdded(gone);
        assertThat(owners(b)).isEqualTo(before);
    }

    @Test
    void addingAServerTakesAboutOneNthAndOnlyForItself() {
        List<Server> servers = TestServers.servers(100, 1);
        SourceHashBalancer b = new SourceHashBalancer(servers);
        Server[] before = owners(b);
        Server added = server("new", 1);
        b.serverAdded(added);
        Server[] after = owners(b);
        int moved = 0;
        for (int i = 0; i < clients.length; i++) {
            if (after[i] != before[i]) {
                moved++;
                assertThat(after[i]).isSameAs(added);
            }
        }
        assertThat(moved).isBetween(CLIENTS / 101 * 9 / 10, CLIENTS / 101 * 11 / 10);
    }

    @Test
    void sameServersGiveTheSameTableWhateverTheOrder() {
        List<Server> sorted = new ArrayList<>();
        Random random = new Random(5);
        for (int i = 0; i < 20; i++) {
            sorted.add(server("web-" + i, 1 + random.nextInt(4)));
        }
        String[] reference = table(new SourceHashBalancer(sorted));

        List<Server> shuffled = new ArrayList<>();
        for (Server s : sorted) {
            shuffled.add(server(s.name(), s.weight()));
        }
        Collections.shuffle(shuffled, new Random(9));
        assertThat(table(new SourceHashBalancer(shuffled))).isEqualTo(reference);

        SourceHashBalancer incremental = new SourceHashBalancer(List.of());
        List<Server> oneByOne = new ArrayList<>(shuffled);
        Collections.reverse(oneByOne);
        for (Server s : oneByOne) {
            incremental.serverAdded(server(s.name(), s.weight()));
        }
        assertThat(table(incremental)).isEqualTo(reference);
        assertThat(incremental.boundsKnown()).as("bounds of a table filled one server at a time from empty").isTrue();
    }

    @Test
    void tableIsTheBruteForceArgmin() {
        Random random = new Random(11);
        List<Server> servers = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            servers.add(server("node" + i, 1 + random.nextInt(256)));
        }
        SourceHashBalancer small = new SourceHashBalancer(servers, 12);
        for (int bucket = 0; bucket < small.tableSize(); bucket++) {
            assertThat(small.ownerOfBucket(bucket)).isSameAs(small.bruteForceOwner(bucket));
        }
        SourceHashBalancer full = new SourceHashBalancer(servers);
        for (int i = 0; i < 20_000; i++) {
            int bucket = random.nextInt(full.tableSize());
            assertThat(full.ownerOfBucket(bucket)).isSameAs(full.bruteForceOwner(bucket));
        }
    }

    @Test
    void weightsTwoToOne() {
        List<Server> servers = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            servers.add(server("w" + i, i < 5 ? 2 : 1));
        }
        Map<Server, Integer> counts = countOwners(new SourceHashBalancer(servers));
        long heavy = 0;
        long light = 0;
        for (Server s : servers) {
            if (s.weight() == 2) {
                heavy += counts.get(s);
            } else {
                light += counts.get(s);
            }
        }
        assertThat((double) heavy / light).isBetween(1.96, 2.04);
        for (Server s : servers) {
            double expected = CLIENTS * s.weight() / 15.0;
            assertThat((double) counts.get(s)).isBetween(expected * 0.97, expected * 1.03);
        }
    }

    @Test
    void downServerLeavesAndReturnsWithTheSameClients() {
        List<Server> servers = TestServers.servers(10, 1);
        SourceHashBalancer b = new SourceHashBalancer(servers);
        Server[] before = owners(b);
        Server down = servers.get(3);
        down.up(false);
        b.serverDown(down);
        Server[] during = owners(b);
        for (int i = 0; i < clients.length; i++) {
            assertThat(during[i]).isNotSameAs(down);
            if (before[i] != down) {
                assertThat(during[i]).isSameAs(before[i]);
            }
        }
        assertThat(b.usableCount()).isEqualTo(9);
        down.up(true);
        b.serverUp(down);
        assertThat(owners(b)).isEqualTo(before);
        // A weight change and back is also a round trip.
        down.weight(3);
        b.weightChanged(down);
        down.weight(1);
        b.weightChanged(down);
        assertThat(owners(b)).isEqualTo(before);
    }

    @Test
    void fullOrAvoidedServerProbesDeterministically() {
        List<Server> servers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            servers.add(server("m" + i, 1, 1));
        }
        SourceHashBalancer b = new SourceHashBalancer(servers);
        int h = clients[0];
        Server home = b.owner(h);
        assertThat(b.pick(h, null)).isSameAs(home);
        Server second = b.pick(h, null);
        assertThat(second).isNotNull().isNotSameAs(home);
        b.released(second);
        assertThat(b.pick(h, null)).as("deterministic fallback").isSameAs(second);
        b.released(home);
        assertThat(b.pick(h, home)).isNotSameAs(home).isNotNull();
        // Fill everything: null, no exception.
        for (int i = 0; i < 8; i++) {
            b.pick(clients[i + 1], null);
        }
        assertThat(servers).allMatch(Server::full);
        assertThat(b.pick(h, null)).isNull();
    }

    @Test
    void fallbacksSpreadOverServers() {
        List<Server> servers = TestServers.servers(50, 1);
        SourceHashBalancer b = new SourceHashBalancer(servers);
        Server avoided = servers.get(0);
        Set<String> seen = new HashSet<>();
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 200_000; i++) {
            if (b.owner(clients[i]) == avoided) {
                Server s = b.pick(clients[i], avoided);
                b.released(s);
                seen.add(s.name());
                counts.merge(s.name(), 1, Integer::sum);
            }
        }
        assertThat(seen).hasSizeGreaterThan(40).doesNotContain(avoided.name());
    }

    /**
     * Incremental changes edit the builder's table in place and publish only the pages they changed, with per-page
     * and per-chunk score bounds instead of a scan: after every step of a random history (growing from nothing,
     * removals that raise the bounds, weight changes, batches through successor) the published table is still the
     * brute-force one, as a fresh build of the same servers gives it.
     */
    @Test
    void incrementalHistoryMatchesFreshBuilds() {
        Random random = new Random(23);
        List<Server> members = new ArrayList<>();
        Balancer b = new SourceHashBalancer(List.of(), 12);
        int next = 0;
        for (int step = 0; step < 60; step++) {
            int op = members.size() < 3 ? 0 : random.nextInt(4);
            if (op == 0 || op == 3 && members.size() < 30) {
                int adds = op == 0 ? 1 : 1 + random.nextInt(3);
                for (int i = 0; i < adds; i++) {
                    members.add(server("n" + next++, 1 + random.nextInt(8)));
                }
            } else if (op == 1) {
                members.remove(random.nextInt(members.size()));
            } else {
                Server s = members.get(random.nextInt(members.size()));
                s.weight(1 + random.nextInt(8));
            }
            b = b.successor(List.copyOf(members));
            SourceHashBalancer now = (SourceHashBalancer) b;
            SourceHashBalancer fresh = new SourceHashBalancer(members, 12);
            assertThat(table(now)).as("step %d", step).isEqualTo(table(fresh));
        }
        SourceHashBalancer last = (SourceHashBalancer) b;
        for (int bucket = 0; bucket < last.tableSize(); bucket++) {
            assertThat(last.ownerOfBucket(bucket)).isSameAs(last.bruteForceOwner(bucket));
        }
    }

    /** A batch that changes the table publishes one new copy of it; one that changes nothing publishes none. */
    @Test
    void anAdditionPublishesOneTableAndNoChangePublishesNone() {
        List<Server> servers = TestServers.servers(2_000, 1);
        SourceHashBalancer before = new SourceHashBalancer(servers);
        List<Server> more = new ArrayList<>(servers);
        more.add(server("newcomer", 1));
        SourceHashBalancer after = (SourceHashBalancer) before.successor(more);
        assertThat(after.sharesTableWith(before)).isFalse();
        assertThat(after.bucketCounts().get("newcomer")).isBetween(1_500, 2_700);
        assertThat(before.bucketCounts()).as("the old snapshot's table is untouched").doesNotContainKey("newcomer");
        SourceHashBalancer same = (SourceHashBalancer) after.successor(more);
        assertThat(same.sharesTableWith(after)).as("no change, no copy").isTrue();
    }

    /** The published array of each page (its own page, or the flat base), by identity. */
    private static char[][] arrays(SourceHashBalancer b) {
        char[][] out = new char[b.tableSize() / SourceHashBalancer.pageSize()][];
        for (int p = 0; p < out.length; p++) {
            out[p] = b.publishedArray(p * SourceHashBalancer.pageSize());
        }
        return out;
    }

    /** Pages holding a bucket whose owner differs between two tables of names. */
    private static Set<Integer> changedPages(String[] before, String[] after) {
        Set<Integer> out = new HashSet<>();
        for (int bucket = 0; bucket < before.length; bucket++) {
            if (!after[bucket].equals(before[bucket])) {
                out.add(bucket / SourceHashBalancer.pageSize());
            }
        }
        return out;
    }

    /**
     * A batch that changes few buckets publishes fresh copies of the pages holding them and shares every other
     * page's published array (the flat base, or an earlier batch's page object); older snapshots still answer their
     * old owners (nothing written in place), and the new one is the brute-force argmin.
     */
    @Test
    void aSmallBatchCopiesOnlyTheChangedPagesAndOldSnapshotsStayIntact() {
        int bits = 16; // 256 pages
        List<Server> servers = TestServers.servers(20, 200);
        SourceHashBalancer first = new SourceHashBalancer(servers, bits);
        String[] firstOwners = table(first);
        char[][] firstArrays = arrays(first);
        assertThat(new HashSet<>(List.of(firstArrays))).as("a full build publishes one flat table").hasSize(1);
        assertThat(firstArrays[0]).hasSize(first.tableSize());

        List<Server> more = new ArrayList<>(servers);
        more.add(server("light", 1)); // about 65,536 / 4,001 = 16 buckets
        SourceHashBalancer second = (SourceHashBalancer) first.successor(more);
        String[] secondOwners = table(second);
        Set<Integer> changed = changedPages(firstOwners, secondOwners);
        assertThat(changed).as("a few pages changed, not all").isNotEmpty().hasSizeLessThan(firstArrays.length / 8);
        char[][] secondArrays = arrays(second);
        for (int p = 0; p < firstArrays.length; p++) {
            if (changed.contains(p)) {
                assertThat(secondArrays[p]).as("page %d changed: a fresh copy", p).isNotSameAs(firstArrays[p])
                        .hasSize(SourceHashBalancer.pageSize());
            } else {
                assertThat(secondArrays[p]).as("page %d unchanged: shared", p).isSameAs(firstArrays[p]);
            }
        }
        for (int bucket = 0; bucket < secondOwners.length; bucket++) {
            if (!secondOwners[bucket].equals(firstOwners[bucket])) {
                assertThat(secondOwners[bucket]).isEqualTo("light");
            }
            assertThat(second.ownerOfBucket(bucket)).as("bucket %d", bucket).isSameAs(second.bruteForceOwner(bucket));
        }
        assertThat(table(first)).as("the first snapshot answers its old owners").isEqualTo(firstOwners);

        more.add(server("light2", 1));
        SourceHashBalancer third = (SourceHashBalancer) second.successor(more);
        Set<Integer> changedAgain = changedPages(secondOwners, table(third));
        assertThat(changedAgain).isNotEmpty().hasSizeLessThan(firstArrays.length / 8);
        char[][] thirdArrays = arrays(third);
        int keptPages = 0;
        for (int p = 0; p < firstArrays.length; p++) {
            if (changedAgain.contains(p)) {
                assertThat(thirdArrays[p]).as("page %d", p).isNotSameAs(secondArrays[p]);
            } else {
                assertThat(thirdArrays[p]).as("page %d", p).isSameAs(secondArrays[p]);
                keptPages += changed.contains(p) ? 1 : 0;
            }
        }
        assertThat(keptPages).as("the second snapshot's own pages are reused too").isPositive();
        assertThat(table(second)).as("the second snapshot is intact").isEqualTo(secondOwners);
        assertThat(table(first)).isEqualTo(firstOwners);
        for (int bucket = 0; bucket < third.tableSize(); bucket++) {
            assertThat(third.ownerOfBucket(bucket)).as("bucket %d", bucket).isSameAs(third.bruteForceOwner(bucket));
        }
    }

    /** A batch that changes most pages publishes one new flat table, no pages; the old one keeps its owners. */
    @Test
    void aLargeBatchPublishesOneFlatCopy() {
        List<Server> servers = TestServers.servers(20, 1);
        SourceHashBalancer before = new SourceHashBalancer(servers, 16);
        String[] oldOwners = table(before);
        char[] oldBase = before.publishedArray(0);
        List<Server> more = new ArrayList<>(servers);
        more.add(server("heavy", 1)); // about 1/21 of the buckets: every page
        SourceHashBalancer after = (SourceHashBalancer) before.successor(more);
        char[][] arrays = arrays(after);
        assertThat(new HashSet<>(List.of(arrays))).hasSize(1);
        assertThat(arrays[0]).isNotSameAs(oldBase).hasSize(after.tableSize());
        assertThat(table(before)).isEqualTo(oldOwners);
        for (int bucket = 0; bucket < after.tableSize(); bucket++) {
            assertThat(after.ownerOfBucket(bucket)).as("bucket %d", bucket).isSameAs(after.bruteForceOwner(bucket));
        }
    }
}
