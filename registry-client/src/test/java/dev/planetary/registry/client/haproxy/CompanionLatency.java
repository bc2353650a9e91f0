package dev.planetary.registry.client.haproxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.registry.client.Agent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A measurement, not a test of speed (it asserts only that every VM became routable): register -> routable through
 * HAProxy, for N VMs registered one after the other, each timed from {@code Agent.start} to the first connection to
 * its pinned pcpu port through HAProxy that reaches it. Runs only when asked:
 * {@code mvn -B -o -pl registry-client -am verify -Dtest=CompanionLatency -Dsurefire.failIfNoSpecifiedTests=false
 * -DskipITs -Dcompanion.registrations=100}; prints p50/p99/max on stdout (target/surefire-reports/...-output.txt).
 */
@EnabledIfSystemProperty(named = "companion.registrations", matches = "\\d+")
class CompanionLatency {

    /** How often a connection is tried while waiting: well below the figure measured. */
    private static final long POLL_NANOS = Duration.ofMillis(2).toNanos();

    @TempDir
    Path dir;

    @Test
    void registerToRoutable() throws Exception {
        int n = Integer.getInteger("companion.registrations");
        try (Companion c = new Companion(dir, n + 28, Duration.ofSeconds(5))) {
            // the shipped resync interval: a VM is routed by the push, not by a periodic pass
            c.startSync(HaproxySync.Options.DEFAULT_RESYNC_INTERVAL);
            // steady state: the companion has applied Genesis' (empty) view to the running HAProxy
            long ready = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (c.sync.appliedVersion() < 0) {
                assertThat(System.nanoTime()).as("the companion is connected within 30 s").isLessThan(ready);
                java.util.concurrent.locks.LockSupport.parkNanos(POLL_NANOS);
            }
            long[] micros = new long[n];
            for (int i = 0; i < n; i++) {
                String ip = "127.0.1." + (i + 1);
                Companion.Vm vm = c.vm("v" + i, ip);
                long t0 = System.nanoTime();
                Agent a = c.register(vm);
                long deadline = t0 + Duration.ofSeconds(30).toNanos();
                while (!a.registered()) {
                    assertThat(System.nanoTime()).as("registered within 30 s").isLessThan(deadline);
                    Thread.onSpinWait();
                }
                int pin = a.ports().get("pcpu");
                while (!Companion.ask(pin).equals(vm.name)) {
                    assertThat(System.nanoTime()).as("routable within 30 s").isLessThan(deadline);
                    java.util.concurrent.locks.LockSupport.parkNanos(POLL_NANOS);
                }
                micros[i] = (System.nanoTime() - t0) / 1000;
            }
            Arrays.sort(micros);
            System.out.printf("companion register->routable through HAProxy, %d registrations: p50 %.1f ms, "
                    + "p99 %.1f ms, max %.1f ms%n", n, micros[n / 2] / 1000.0,
                micros[(int) Math.ceil(n * 0.99) - 1] / 1000.0, micros[n - 1] / 1000.0);
        }
    }
}
