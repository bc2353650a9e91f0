package dev.planetary.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.store.SharedStore;
import dev.planetary.registry.testing.EtcdForClass;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The leader election's duties key against a real etcd. */
class EtcdLeaderTest {

    @RegisterExtension
    static final EtcdForClass ETCD = new EtcdForClass();

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static List<KeyValue> get(Client c, String key) throws Exception {
        return c.getKVClient().get(bytes(key)).get(10, TimeUnit.SECONDS).getKvs();
    }

    /**
     * Review finding 6: a leader that loses its lease and takes the key again starts a new term, in which another
     * leader may have written its own decision: it writes its decision again, even one equal to what it wrote in
     * its earlier term (else every follower would show the other's decision until this one's changes). Also: a
     * leader whose lease is gone (revoked here, lapsed in life) gets a new one and campaigns again (etcd's "requested
     * lease not found" was not recognised, so it never led again).
     */
    @Test
    void aLeaderThatTakesTheKeyAgainWritesItsDecisionAgain() throws Exception {
        String p = "/test/leader-new-term/";
        SharedStore.Duties mine = new SharedStore.Duties(true, false);
        try (Client c = Client.builder().endpoints(ETCD.process().url()).build();
             Client own = Client.builder().endpoints(ETCD.process().url()).build();
             EtcdLeader leader = new EtcdLeader(own, bytes(p + "leader"), bytes(p + "duties"), "test")) {
            leader.decided(mine);
            leader.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> !get(c, p + "duties").isEmpty()
                && get(c, p + "duties").get(0).getValue().toString(StandardCharsets.UTF_8).equals(mine.wire()));
            // another leader's term, as far as the key shows: its decision, then its lease gone with ours
            c.getKVClient().put(bytes(p + "duties"), bytes(SharedStore.Duties.NONE.wire())).get(10, TimeUnit.SECONDS);
            long lease = get(c, p + "leader").get(0).getLease();
            c.getLeaseClient().revoke(lease).get(10, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(30)).until(() -> !get(c, p + "leader").isEmpty()
                && get(c, p + "leader").get(0).getLease() != lease);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(
                get(c, p + "duties").get(0).getValue().toString(StandardCharsets.UTF_8)).isEqualTo(mine.wire()));
        }
    }
}
