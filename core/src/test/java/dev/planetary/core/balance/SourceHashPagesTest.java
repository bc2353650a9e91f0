package dev.planetary.core.balance;

import static dev.planetary.core.balance.TestServers.server;
import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.backend.Server;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The paged publication of {@link SourceHashBalancer}: page edges, pages given back, copies folded into the base. */
class SourceHashPagesTest {

    private static final int BITS = 16; // 256 pages of 256: a light server's ~16-50 buckets stay under a quarter

    private static String[] table(SourceHashBalancer b) {
        String[] out = new String[b.tableSize()];
        for (int i = 0; i < out.length; i++) {
            Server s = b.ownerOfBucket(i);
            out[i] = s == null ? null : s.name();
        }
        return out;
    }

    /** Pages published as their own page object (not read from the flat base). */
    private static int overlaid(SourceHashBalancer b) {
        int n = 0;
        for (int p = 0; p < b.tableSize() / SourceHashBalancer.pageSize(); p++) {
            n += b.publishedArray(p * SourceHashBalancer.pageSize()).length == SourceHashBalancer.pageSize() ? 1 : 0;
        }
        return n;
    }

    /**
     * A random history of small changes (light servers added, removed, reweighted through successor; taken down and
     * up through the callbacks) publishes pages over the base, and after every step the published table is a fresh
     * build's. The history is checked to have changed buckets at both edges of a page (offsets 0 and 255) and in the
     * last page while publishing pages, so an off-by-one in the page arithmetic cannot pass unseen.
     */
    @Test
    void pagedHistoryMatchesFreshBuildsAtPageEdges() {
        Random random = new Random(7);
        List<Server> members = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            members.add(server("heavy" + i, 200));
        }
        int next = 0;
        for (int i = 0; i < 3; i++) {
            members.add(server("light" + next++, 1 + random.nextInt(3)));
        }
        Balancer b = new SourceHashBalancer(members, BITS);
        String[] before = table((SourceHashBalancer) b);
        List<SourceHashBalancer> old = new ArrayList<>();
        List<String[]> oldTables = new ArrayList<>();
        int pagedSteps = 0;
        boolean edge0 = false;
        boolean edge255 = false;
        boolean lastPage = false;
        int lastPageStart = (1 << BITS) - SourceHashBalancer.pageSize();
        Server down = null;
        for (int step = 0; step < 80; step++) {
            int op = random.nextInt(5);
            List<Server> lights = members.subList(20, members.size());
            if (op == 4 || down != null) { // callbacks on the current balancer: the reconcile path
                if (down == null) {
                    down = lights.get(random.nextInt(lights.size()));
                    down.up(false);
                    b.serverDown(down);
                } else {
                    down.up(true);
                    b.serverUp(down);
                    down = null;
                }
            } else {
                if (step % 10 == 0) {
                    old.add((SourceHashBalancer) b);
                    oldTables.add(before);
                }
                if (op == 0 || lights.size() < 3) {
                    members.add(server("light" + next++, 1 + random.nextInt(3)));
                } else if (op == 1) {
                    members.remove(20 + random.nextInt(lights.size()));
                } else {
                    lights.get(random.nextInt(lights.size())).weight(1 + random.nextInt(3));
                }
                b = b.successor(List.copyOf(members));
            }
            SourceHashBalancer now = (SourceHashBalancer) b;
            String[] after = table(now);
            assertThat(after).as("step %d", step).isEqualTo(table(new SourceHashBalancer(members, BITS)));
            if (overlaid(now) > 0) {
                pagedSteps++;
                for (int bucket = 0; bucket < after.length; bucket++) {
                    if (!Objects.equals(after[bucket], before[bucket])) {
                        int offset = bucket % SourceHashBalancer.pageSize();
                        edge0 |= offset == 0;
                        edge255 |= offset == SourceHashBalancer.pageSize() - 1;
                        lastPage |= bucket >= lastPageStart;
                    }
                }
            }
            before = after;
        }
        for (int i = 0; i < old.size(); i++) {
            assertThat(table(old.get(i))).as("old snapshot %d intact", i).isEqualTo(oldTables.get(i));
        }
        assertThat(pagedSteps).as("the paged path was exercised").isGreaterThan(20);
        assertThat(edge0).as("a change at offset 0 of a page").isTrue();
        assertThat(edge255).as("a change at offset 255 of a page").isTrue();
        assertThat(lastPage).as("a change in the last page").isTrue();
    }

    /**
     * A light server down and up again leaves the table exactly as its flat base, so no page need stay over it
     * (failed before pageOf compared with the base: 28 of 256 pages stayed as copies equal to it, so health-check
     * flaps never gave pages back).
     */
    @Test
    void downAndUpAgainLeavesNoOverlays() {
        List<Server> members = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            members.add(server("heavy" + i, 200));
        }
        Server light = server("light", 2);
        members.add(light);
        SourceHashBalancer b = new SourceHashBalancer(members, BITS);
        String[] start = table(b);
        assertThat(overlaid(b)).isZero();
        light.up(false);
        b.serverDown(light);
        int during = overlaid(b);
        light.up(true);
        b.serverUp(light);
        assertThat(table(b)).isEqualTo(start);
        assertThat(during).isPositive();
        assertThat(overlaid(b)).as("pages equal to the base stay as copies over it").isZero();
    }

    /**
     * One-server batches never leave more than all but a quarter of the pages as copies: they are folded into a new
     * flat base first (before, 40 such batches left 99% of the table copied over a base nobody read).
     */
    @Test
    void copiesAreFoldedIntoANewBaseBeforeTheyCoverTheTable() {
        List<Server> members = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            members.add(server("heavy" + i, 200));
        }
        Balancer b = new SourceHashBalancer(members, BITS);
        int pages = (1 << BITS) / SourceHashBalancer.pageSize();
        int most = 0;
        int folds = 0;
        int last = 0;
        for (int i = 0; i < 60; i++) {
            members.add(server("light" + i, 3));
            b = b.successor(List.copyOf(members));
            int now = overlaid((SourceHashBalancer) b);
            assertThat(now).as("batch %d", i).isLessThanOrEqualTo(pages - pages / 4);
            folds += now < last ? 1 : 0;
            most = Math.max(most, now);
            last = now;
        }
        assertThat(most).as("pages were used at all").isGreaterThan(pages / 2);
        assertThat(folds).as("copies folded into a new base").isPositive();
        assertThat(table((SourceHashBalancer) b)).isEqualTo(table(new SourceHashBalancer(members, BITS)));
    }
}
