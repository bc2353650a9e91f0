package dev.planetary.core.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.planetary.core.config.BalanceAlgorithm;
import dev.planetary.core.config.HashType;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The owner's side of a backend: batches of changes, one snapshot per batch, replace with a drain set. */
class BackendApplyTest {

    private static Server server(String name, int weight) {
        return server(name, weight, "10.0.0.1");
    }

    private static Server server(String name, int weight, String host) {
        return new Server(name, InetSocketAddress.createUnresolved(host, 8000), weight, 0, false, true,
            Server.Admin.READY);
    }

    private static List<Server> servers(int n) {
        List<Server> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(server("s" + i, 1));
        }
        return out;
    }

    @Test
    void aBatchIsOneSnapshotAndARefusedChangeDoesNotStopTheOthers() {
        Backend be = new Backend("be", BalanceAlgorithm.LEASTCONN, HashType.MAP_BASED, servers(3));
        AtomicInteger published = new AtomicInteger();
        be.onChange(published::incrementAndGet);
        Server extra = server("x", 2);
        Backend.Applied a = be.apply(List.of(
            new BackendChange.Add(extra),
            new BackendChange.Add(server("s0", 1)), // duplicate name
            new BackendChange.Weight("s1", 7),
            new BackendChange.Weight("s2", 999), // out of range
            new BackendChange.Admin("nope", Server.Admin.DRAIN),
            new BackendChange.Remove("s0")));
        assertThat(a.snapshot().version()).isEqualTo(1);
        assertThat(published).hasValue(1);
        assertThat(a.outcomes()).hasSize(6);
        assertThat(a.outcomes().get(0).server()).isSameAs(extra);
        assertThat(a.outcomes().get(1).error()).hasMessage("backend 'be' already has a server named 's0'");
        assertThat(a.outcomes().get(2).error()).isNull();
        assertThat(a.outcomes().get(3).error()).hasMessage("weight must be 0..256: 999");
        assertThat(a.outcomes().get(4).error()).hasMessage("backend 'be' has no server named 'nope'");
        assertThat(a.outcomes().get(5).server().name()).isEqualTo("s0");
        assertThat(be.servers()).extracting(Server::name).containsExactly("s1", "s2", "x");
        assertThat(be.server("s1").orElseThrow().weight()).isEqualTo(7);
        assertThat(be.server("s2").orElseThrow().weight()).isEqualTo(1);
        assertThat(a.joined()).containsExactly(extra);
        assertThat(a.left()).extracting(Server::name).containsExactly("s0");

        Backend.Applied none = be.apply(List.of(new BackendChange.Remove("nope")));
        assertThat(none.snapshot().version()).as("nothing changed: no new snapshot").isEqualTo(1);
        assertThat(published).hasValue(1);
        assertThatThrownBy(() -> be.removeServer("nope")).hasMessage("backend 'be' has no server named 'nope'");
    }

    @Test
    void replaceKeepsServersByIdentityAndAppliesTheDrainSet() {
        List<Server> initial = servers(4);
        Backend be = new Backend("be", BalanceAlgorithm.ROUNDROBIN, HashType.MAP_BASED, initial);
        Server s0 = initial.get(0);
        Server s1 = initial.get(1);
        Server s2 = initial.get(2);
        assertThat(be.pick(0, null)).isNotNull();
        s0.up(false);
        be.setAdmin("s2", Server.Admin.MAINT);
        be.setAdmin("s3", Server.Admin.DRAIN); // the operator's drain, not the registry's

        List<Server> wanted = List.of(server("s0", 5), server("s1", 1), server("s2", 1), server("s3", 1),
            server("s4", 1, "10.0.0.9"));
        be.replaceServers(wanted, Set.of("s1", "s2", "s4"));
        Backend.Snapshot snap = be.snapshot();
        assertThat(snap.version()).isEqualTo(3);
        assertThat(be.server("s0").orElseThrow()).isSameAs(s0);
        assertThat(s0.weight()).isEqualTo(5);
        assertThat(s0.up()).as("health kept").isFalse();
        assertThat(be.server("s1").orElseThrow()).isSameAs(s1);
        assertThat(s1.discoveryDrain()).isTrue();
        assertThat(s1.admin()).as("the registry's drain is not the operator's state").isEqualTo(Server.Admin.READY);
        assertThat(s1.usable()).isFalse();
        assertThat(s2.admin()).as("the operator's maintenance is kept").isEqualTo(Server.Admin.MAINT);
        assertThat(s2.effectiveAdmin()).as("maintenance is shown over the drain set").isEqualTo(Server.Admin.MAINT);
        assertThat(be.server("s3").orElseThrow().admin()).as("not the registry's drain: left alone")
            .isEqualTo(Server.Admin.DRAIN);
        assertThat(be.server("s3").orElseThrow().discoveryDrain()).isFalse();
        assertThat(be.server("s4").orElseThrow().discoveryDrain()).as("new and draining").isTrue();
        assertThat(be.server("s4").orElseThrow().effectiveAdmin()).isEqualTo(Server.Admin.DRAIN);

        // s1 leaves the drain set: READY again; s4 stays; s2 stays in MAINT; the address of s0 changes: new object
        be.replaceServers(List.of(server("s0", 1, "10.0.0.2"), server("s1", 1), server("s2", 1),
            server("s4", 1, "10.0.0.9")), Set.of("s4"));
        assertThat(s1.discoveryDrain()).isFalse();
        assertThat(s1.admin()).isEqualTo(Server.Admin.READY);
        assertThat(s1.usable()).isTrue();
        assertThat(s2.admin()).isEqualTo(Server.Admin.MAINT);
        assertThat(s2.discoveryDrain()).isFalse();
        assertThat(be.server("s4").orElseThrow().discoveryDrain()).isTrue();
        assertThat(be.server("s0").orElseThrow()).isNotSameAs(s0);
        assertThat(be.server("s3")).isEmpty();

        // without a drain set, the registry's drain flags are left alone
        be.replaceServers(List.of(server("s1", 1), server("s4", 1, "10.0.0.9")));
        assertThat(be.server("s4").orElseThrow().discoveryDrain()).isTrue();
        assertThat(be.server("s1").orElseThrow().discoveryDrain()).isFalse();
        assertThatThrownBy(() -> be.replaceServers(List.of(server("a", 1), server("a", 1))))
            .hasMessage("backend 'be' lists server 'a' twice");
        assertThat(be.servers()).extracting(Server::name).containsExactly("s1", "s4");
    }

    @Test
    void aWholeRegistryViewIsOneSnapshot() {
        Backend be = new Backend("be", BalanceAlgorithm.SOURCE, HashType.CONSISTENT, servers(1_000));
        List<Server> view = servers(1_999);
        long before = be.snapshot().version();
        be.replaceServers(view, Set.of("s5"));
        assertThat(be.snapshot().version()).isEqualTo(before + 1);
        assertThat(be.servers()).hasSize(1_999);
        assertThat(be.snapshot().active().usableCount()).isEqualTo(1_998);
        for (int i = 0; i < 2_000; i++) {
            Server s = be.pick(i * 0x9e3779b9, null);
            assertThat(s).isNotNull();
            assertThat(s.name()).isNotEqualTo("s5");
            be.release(s);
        }
    }

    @Test
    void aReleaseThroughAnOlderSnapshotReachesTheNewLeastConnBalancer() {
        List<Server> initial = servers(3);
        Backend be = new Backend("be", BalanceAlgorithm.LEASTCONN, HashType.MAP_BASED, initial);
        Server a = be.pick(0, null);
        Server b = be.pick(0, null);
        be.addServer(server("x", 1)); // new snapshot, new balancer: built from the live counts
        be.release(a); // a's count drops after the build: the new balancer must learn it
        be.release(b);
        List<Server> got = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            got.add(be.pick(0, null));
        }
        assertThat(got).as("one each: no stale load").doesNotHaveDuplicates();
    }

    /** A relist's description of a server at a host; counts how many servers it had to make. */
    private record Spec(String name, String host, int weight, AtomicInteger made) implements BackendChange.Wanted {
        @Override
        public boolean keeps(Server current) {
            return current.address().getHostString().equals(host);
        }

        @Override
        public Server create() {
            made.incrementAndGet();
            return server(name, weight, host);
        }
    }

    @Test
    void aRelistKeepsWhatItDescribesMakesOnlyTheRestAndPublishesNothingWhenNothingChanged() {
        Backend be = new Backend("be", BalanceAlgorithm.SOURCE, HashType.CONSISTENT, servers(3));
        List<Server> before = be.servers();
        var balancer = be.snapshot().active();
        AtomicInteger made = new AtomicInteger();
        AtomicInteger published = new AtomicInteger();
        be.onChange(published::incrementAndGet);

        // the same servers, weights and (no) drains: no snapshot, no balancer rebuild, nothing made
        Backend.Applied same = be.apply(List.of(new BackendChange.Relist(List.of(new Spec("s0", "10.0.0.1", 1, made),
            new Spec("s1", "10.0.0.1", 1, made), new Spec("s2", "10.0.0.1", 1, made)), Set.of())));
        assertThat(same.snapshot().version()).isZero();
        assertThat(published).hasValue(0);
        assertThat(made).hasValue(0);
        assertThat(be.snapshot().active()).isSameAs(balancer);

        // s0 kept (new weight), s1 drained, s2 moved (made anew), s3 new: two made
        before.get(0).tryAcquire();
        Backend.Applied a = be.apply(List.of(new BackendChange.Relist(List.of(new Spec("s0", "10.0.0.1", 3, made),
            new Spec("s1", "10.0.0.1", 1, made), new Spec("s2", "10.0.0.2", 1, made),
            new Spec("s3", "10.0.0.1", 1, made)), Set.of("s1"))));
        assertThat(a.snapshot().version()).isEqualTo(1);
        assertThat(made).hasValue(2);
        assertThat(be.server("s0").orElseThrow()).isSameAs(before.get(0)).extracting(Server::weight).isEqualTo(3);
        assertThat(be.server("s0").orElseThrow().active()).as("live count kept").isEqualTo(1);
        assertThat(be.server("s1").orElseThrow()).isSameAs(before.get(1)).extracting(Server::discoveryDrain)
            .isEqualTo(true);
        assertThat(be.server("s2").orElseThrow()).isNotSameAs(before.get(2));
        assertThat(a.joined()).extracting(Server::name).containsExactly("s2", "s3");
        assertThat(a.left()).containsExactly(before.get(2));

        // only a drain ends: a new snapshot (the balancer must see s1 usable), nothing made
        Backend.Applied undrain = be.apply(List.of(new BackendChange.Relist(List.of(
            new Spec("s0", "10.0.0.1", 3, made), new Spec("s1", "10.0.0.1", 1, made),
            new Spec("s2", "10.0.0.2", 1, made), new Spec("s3", "10.0.0.1", 1, made)), Set.of())));
        assertThat(undrain.snapshot().version()).isEqualTo(2);
        assertThat(made).hasValue(2);
        assertThat(be.server("s1").orElseThrow().usable()).isTrue();
        assertThat(undrain.joined()).isEmpty();
        assertThat(undrain.left()).isEmpty();

        // a name listed twice: refused, nothing changed
        Backend.Applied twice = be.apply(List.of(new BackendChange.Relist(List.of(
            new Spec("s0", "10.0.0.9", 1, made), new Spec("s0", "10.0.0.9", 1, made)), null)));
        assertThat(twice.outcomes().get(0).error()).hasMessage("backend 'be' lists server 's0' twice");
        assertThat(be.servers()).extracting(Server::name).containsExactly("s0", "s1", "s2", "s3");
        assertThat(made).hasValue(2);
    }
}
