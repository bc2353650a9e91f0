package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;

/**
 * Bytes the event loop allocates per proxied connection (issue 15: the cold new-connection rate), counted by the JVM
 * rather than timed, so that a loaded machine does not change the figure: {@code getThreadAllocatedBytes} of the
 * proxy's only event loop around {@code N} connections (connect, 32 bytes echoed, the client closes first), once for
 * the first connections after start (interpreter and C1) and once after them (warm). Run it when asked. Netty's leak
 * detector is switched off for the run, as the launcher does ({@code -Dio.netty.leakDetection.level=disabled}): the
 * test platform's {@code LeakTracking} sets it to PARANOID for every test JVM, whatever {@code test.argLine} says, and
 * its stack-trace records were about 18 KB of the 22.4 KB once counted here. {@code -Dalloc.warmup=true} starts the
 * warm-up thread first, as the launched proxy does:
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

    /**
     * A JFR file to write the warm phase's allocations to (every new TLAB and every allocation outside one, with its
     * stack), or none. Add {@code -XX:TLABSize=2k -XX:-ResizeTLAB -XX:TLABRefillWasteFraction=1} to {@code test.argLine}
     * for a sample per 2 KiB rather than per megabyte. The samples say where the bytes go, roughly (a refill is charged
     * to the object that caused it, which favours some sites over others); the byte figure above does not depend on
     * them and is the one to compare.
     */
    private static final String JFR = System.getProperty("alloc.jfr", "");

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void measure() throws Exception {
        ResourceLeakDetector.Level leakLevel = ResourceLeakDetector.getLevel();
        // read on every buffer and channel made, so setting it here reaches the detectors already created
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
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
                Recording jfr = JFR.isEmpty() ? null : allocationRecording();
                long b1 = mx.getThreadAllocatedBytes(loop);
                long c1 = mx.getThreadCpuTime(loop);
                connections(proxy, port, WARM);
                long b2 = mx.getThreadAllocatedBytes(loop);
                long c2 = mx.getThreadCpuTime(loop);
                if (jfr != null) {
                    jfr.stop();
                    jfr.dump(Path.of(JFR));
                    jfr.close();
                }
                // CPU time is indicative only: other processes' load moves it (caches), the bytes it does not
                System.out.printf("ALLOC transport=%s warmup=%s cold: %d connections, %.0f bytes, %.1f us CPU each;"
                    + " warm: %d connections, %.0f bytes, %.1f us CPU each%n", proxy.transport(), WARMUP, COLD,
                    (b1 - b0) / (double) COLD, (c1 - c0) / 1e3 / COLD, WARM, (b2 - b1) / (double) WARM,
                    (c2 - c1) / 1e3 / WARM);
                assertThat(b2).isGreaterThan(b0);
            } finally {
                proxy.close();
            }
        } finally {
            ResourceLeakDetector.setLevel(leakLevel);
        }
    }

    private static Recording allocationRecording() throws Exception {
        Recording r = new Recording(Configuration.getConfiguration("profile"));
        r.enable("jdk.ObjectAllocationInNewTLAB").withStackTrace();
        r.enable("jdk.ObjectAllocationOutsideTLAB").withStackTrace();
        r.start();
        return r;
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
