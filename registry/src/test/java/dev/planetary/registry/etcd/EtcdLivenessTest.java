package dev.planetary.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.testing.EtcdForClass;
import io.etcd.jetcd.kv.GetResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Leases as heartbeats, against a real etcd: a lease that lapses while this instance follows nothing (its watch
 * broke) sends no delete event to anyone; following again must still see it gone, or the leader never expires
 * that VM and every proxy keeps routing to it.
 */
class EtcdLivenessTest {

    /** Short, so that the renewer's first round (a third of it) grants the leases within a second. */
    private static final Duration TTL = Duration.ofSeconds(3);
    private static final Duration WAIT = Duration.ofSeconds(30);

    @RegisterExtension
    static final EtcdForClass ETCD = new EtcdForClass();

    @Test
    void aLeaseThatLapsedWhileNothingFollowedCountsAsLapsedOnceFollowingAgain() throws Exception {
        try (EtcdStore store = EtcdStore.open(ETCD.process().endpoints(), "/test/liveness-refollow/")) {
            EtcdLiveness l = store.liveness(TTL);
            l.beat("vm_a");
            l.beat("vm_b");
            await("both leases granted").atMost(WAIT).until(() -> {
                l.beat("vm_b");
                return l.knowsLease("vm_a") && l.knowsLease("vm_b");
            });
            l.stopFollowing(); // as a broken watch

            GetResponse r = store.client().getKVClient().get(store.key("alive/vm_a")).get(10, TimeUnit.SECONDS);
            assertThat(r.getKvs()).hasSize(1);
            store.client().getLeaseClient().revoke(r.getKvs().get(0).getLease()).get(10, TimeUnit.SECONDS);
            assertThat(l.knowsLease("vm_a")).as("nothing followed the delete").isTrue();

            l.refollow();
            await("vm_a lapsed, vm_b kept").atMost(WAIT).until(() -> {
                l.beat("vm_b");
                return !l.knowsLease("vm_a") && l.lapsedPending("vm_a");
            });
            assertThat(l.knowsLease("vm_b")).as("a lease that lives is kept").isTrue();
            assertThat(l.lapsedPending("vm_b")).isFalse();
        }
    }
}
