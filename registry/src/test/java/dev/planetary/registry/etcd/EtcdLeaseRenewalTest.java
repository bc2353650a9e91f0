package dev.planetary.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.testing.EtcdForClass;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Many VMs heartbeating on etcd: more VMs are marked per renewer round than the renewer keeps lease requests in flight
 * (256), as with the 1,900 VMs of the load figures. Every VM that keeps heartbeating must keep its lease; the renewer
 * used to stop a round at the cap and start the next one from the same VMs (the same hash order), so the VMs late in
 * that order were never renewed and expired though they heartbeat (RegistryLoad on etcd: 140-200 of 1,900 in 30 s).
 */
class EtcdLeaseRenewalTest {

    /**
     * Short, so that three TTLs pass in seconds: the renewer runs every 2 s, and a lease lapses only when a renewer
     * round lasts over 4 s. With 3 s (rounds every second, 2 s of slack) a machine at load 10 failed it (ci63: 9 of
     * 1,000 leases lapsed, all from one stretch of a round that etcd answered late); the product's default TTL is 15 s.
     */
    private static final Duration TTL = Duration.ofSeconds(6);
    /** Several times the renewer's in-flight cap. */
    private static final int VMS = 1_000;
    private static final Duration WAIT = Duration.ofSeconds(60);
    /** Each VM is marked this often: several times per renewer round, as VMs heartbeating every few seconds. */
    private static final Duration BEAT_EVERY = Duration.ofMillis(200);

    @RegisterExtension
    static final EtcdForClass ETCD = new EtcdForClass();

    /** VM id to the lease its {@code alive/} key holds now. */
    private static Map<String, Long> leases(EtcdStore store) throws Exception {
        Map<String, Long> out = new HashMap<>();
        for (KeyValue kv : store.client().getKVClient().get(store.key("alive/"), GetOption.builder().isPrefix(true)
                .build()).get(10, TimeUnit.SECONDS).getKvs()) {
            String k = kv.getKey().toString(StandardCharsets.UTF_8);
            out.put(k.substring(k.lastIndexOf('/') + 1), kv.getLease());
        }
        return out;
    }

    @Test
    void everyVmThatKeepsHeartbeatingKeepsItsLeaseBeyondTheRenewersInFlightCap() throws Exception {
        try (EtcdStore store = EtcdStore.open(ETCD.process().endpoints(), "/test/liveness-many/")) {
            EtcdLiveness l = store.liveness(TTL);
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < VMS; i++) {
                ids.add("vm_" + Integer.toHexString(0x100000 + i));
            }
            await("every lease granted").atMost(WAIT).pollInterval(BEAT_EVERY).until(() -> {
                ids.forEach(l::beat);
                return ids.stream().allMatch(l::knowsLease);
            });
            Map<String, Long> granted = leases(store);
            assertThat(granted).hasSize(VMS);

            // three TTLs of heartbeats: a lease not renewed in that time lapses (etcd deletes its key) and is granted
            // again at the VM's next heartbeat, under a new lease
            await().during(TTL.multipliedBy(3)).atMost(TTL.multipliedBy(3).plus(WAIT)).pollInterval(BEAT_EVERY)
                .until(() -> {
                    ids.forEach(l::beat);
                    return true;
                });
            Map<String, Long> after = leases(store);
            List<String> lapsed = ids.stream().filter(id -> !Objects.equals(granted.get(id), after.get(id))).toList();
            assertThat(lapsed).as("VMs that heartbeat all along but whose lease lapsed (%d of %d)", lapsed.size(), VMS)
                .isEmpty();
        }
    }
}
