package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Bytes the event loop allocates per proxied connection (issue 15: the cold new-connection rate), counted by the JVM
 * rather than timed, so that a loaded machine does not change the figure: {@code getThreadAllocatedBytes} of the
 * proxy's only event loop around {@code N} connections (connect, 32 bytes echoed, the client closes first), once for
 * the first connections after start (interpreter and C1) and once after them (warm). Run it when asked, without the
 * paranoid leak detector (its records are allocations of their own); {@code -Dalloc.warmup=true} starts the warm-up
 * thread first, as the launched proxy does:
 *
 * <pre>
 * unshare -n bash -c 'ip link set lo up &amp;&amp; mvn -B -o -q -pl proxy -am test -Dtest=AllocationPerConnectionRun \
 *     -Dsurefire.failIfNoSpecifiedTests=false -Dalloc.figures=true -Dtest.argLine=-Xss512k'
 * </pre>
 */
@EnabledIfSystemProperty(named = "alloc.figures", matches = "true")
class AllocationPerConnectionRun {

    /** Connections counted as the cold figure: the first ones after start. */
    private static final int COLD = Integer.getInteger("alloc.cold", 2_000);
    /** Connections counted as the warm figure, after the cold ones. */
    private static final int WARM = Integer.getInteger("alloc.warm", 10_000);

    /** Start the warm-up thread first, as the launcher's JVM does ({@code ProxyMain.main}). */
    private static final boolean WARMUP = Boolean.getBoolean("alloc.warmup");

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void measure() throws Exception {
        if (WARMUP) {
            Warmup.start();
        }
        try (Backends backends = new Backends()) {
            int port = Ports.pcpu();
            int echo = backends.echo("echo").port();
            Proxy proxy = Harness.start("""
                global
                    maxconn 2000
                    nbthread 1
                defaults
                    mode tcp
                    timeout connect 2s
                    timeout client 30s
                    timeout server 30s
                listen sc
                    bind 127.0.0.1:%d
                    balance leastconn
                    server echo 127.0.0.1:%d
                """.formatted(port, echo), Transport.best());
            try {
                long loop = loopThreadId();
                com.sun.management.ThreadMXBean mx =
                    (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
                if (WARMUP) {
                    assertThat(Warmup.awaitCountersWarm(60, TimeUnit.SECONDS)).isTrue();
                }
                long b0 = mx.getThreadAllocatedBytes(loop);
                long c0 = mx.getThreadCpuTime(loop);
                connections(proxy, port, COLD);
                long b1 = mx.getThreadAllocatedBytes(loop);
                long c1 = mx.getThreadCpuTime(loop);
                connections(proxy, port, WARM);
                long b2 = mx.getThreadAllocatedBytes(loop);
                long c2 = mx.getThreadCpuTime(loop);
                // CPU time is indicative only: other processes' load moves it (caches), the bytes it does not
                System.out.printf("ALLOC transport=%s warmup=%s cold: %d connections, %.0f bytes, %.1f us CPU each;"
                    + " warm: %d connections, %.0f bytes, %.1f us CPU each%n", proxy.transport(), WARMUP, COLD,
                    (b1 - b0) / (double) COLD, (c1 - c0) / 1e3 / COLD, WARM, (b2 - b1) / (double) WARM,
                    (c2 - c1) / 1e3 / WARM);
                assertThat(b2).isGreaterThan(b0);
            } finally {
                proxy.close();
            }
        }
    }

    private static long loopThreadId() {
        long[] ids = Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().startsWith("planetary-io")).mapToLong(Thread::getId).toArray();
        assertThat(ids).as("one event loop: " + Arrays.toString(ids)).hasSize(1);
        return ids[0];
    }

    private static void connections(Proxy proxy, int port, int n) throws Exception {
        byte[] data = new byte[32];
        for (int i = 0; i < n; i++) {
            try (Socket s = Harness.connect(port)) {
                s.getOutputStream().write(data);
                InputStream in = s.getInputStream();
                assertThat(in.readNBytes(32)).hasSize(32);
            }
        }
        // the proxy finishes each connection after the client's close: the last ones end before counting
        await().atMost(Duration.ofSeconds(30)).until(() -> proxy.activeConnections() == 0);
    }
}
