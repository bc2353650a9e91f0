package dev.planetary.bench.proxy;

import dev.planetary.bench.harness.ConfigGen;
import dev.planetary.bench.harness.Harness;
import dev.planetary.bench.harness.Options;
import dev.planetary.bench.harness.Ports;
import dev.planetary.bench.harness.Target;
import dev.planetary.bench.harness.TargetProcess;
import dev.planetary.bench.net.Backends;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The target of a macro benchmark: {@code direct} (the backends themselves: this box's limit), {@code haproxy} or
 * {@code planetary}, both started from the same generated haproxy-syntax file (tcp, leastconn, equal nbthread).
 * The backends (2 sinks, 2 echo servers, Netty epoll) run inside the benchmark's fork; each proxy in its own
 * process. Override the proxy jar with {@code -Dplanetary.jar=PATH} (default: proxy/target/ of the clone).
 */
@State(Scope.Benchmark)
public class ProxyTarget {

    @Param({"direct", "haproxy", "planetary"})
    public String target;

    @Param({"1"})
    public int nbthread;

    private Backends backends;
    private TargetProcess proxy;
    private int base;
    private Path dir;

    @Setup(Level.Trial)
    public void start() throws IOException {
        backends = new Backends(1, 2, 2);
        Target t = Target.of(target);
        if (t == Target.DIRECT) {
            return;
        }
        Options o = Options.parse(new String[0]);
        base = Ports.freeRange(32_100, 32_699, 4);
        dir = Files.createTempDirectory("planetary-jmh");
        Path cfg = dir.resolve("bench.cfg");
        Files.writeString(cfg, ConfigGen.traffic(base, 2000, nbthread, ports(backends.sinks()),
                ports(backends.echos())));
        proxy = TargetProcess.start(t, cfg, o, dir);
        proxy.awaitAccepting(new int[]{base, base + 1}, System.nanoTime(), 60_000);
    }

    private static List<Integer> ports(List<InetSocketAddress> a) {
        return a.stream().map(InetSocketAddress::getPort).toList();
    }

    /** Where bulk connection {@code i} goes. */
    public InetSocketAddress bulk(int i) {
        return proxy == null ? backends.sinks().get(i % 2) : new InetSocketAddress("127.0.0.1", base);
    }

    /** Where request/response connection {@code i} goes. */
    public InetSocketAddress echo(int i) {
        return proxy == null ? backends.echos().get(i % 2) : new InetSocketAddress("127.0.0.1", base + 1);
    }

    @TearDown(Level.Trial)
    public void stop() {
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
        if (dir != null) {
            Harness.deleteTree(dir); // the config and the proxy's log: nothing of a run stays in /tmp
        }
    }
}
