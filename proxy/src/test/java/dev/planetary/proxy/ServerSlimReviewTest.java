package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.backend.Server;
import dev.planetary.core.config.DiscoverConfig;
import dev.planetary.core.config.Origin;
import dev.planetary.core.config.ServerOptions;
import dev.planetary.core.config.StatsSocketConfig;
import dev.planetary.proxy.stats.BackendStats;
import dev.planetary.proxy.stats.ProxyStats;
import dev.planetary.proxy.stats.RuntimeApi;
import dev.planetary.proxy.stats.StatsCollector;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Review of serverslim (slimreview): what a relist keeps per server must stay small after the stats are looked at,
 * and a server's stats must go when it goes, whichever thread reads them meanwhile.
 */
class ServerSlimReviewTest {

    private static final DiscoverConfig DISCOVER = new DiscoverConfig("swarm", "svc",
        new ServerOptions(false, 2000, 2, 3, 1, 0, false, false), new Origin("registry", 0));

    private Proxy proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
    }

    private ProxyBackend start() {
        proxy = Harness.start("""
            defaults
                mode tcp
                timeout connect 1s
                timeout client 30s
                timeout server 30s
            listen be
                bind 127.0.0.1:%d
                balance leastconn
            """.formatted(Ports.pcpu()));
        return proxy.backend("be");
    }

    private static List<ProxyBackend.Wanted> vms(ProxyBackend be, String prefix, int n) {
        List<ProxyBackend.Wanted> wanted = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            wanted.add(be.discovered(DISCOVER, prefix + i, "10.9." + (i >> 8) + "." + (i & 255), 7000));
        }
        return wanted;
    }

    private static boolean addressMade(Server s) throws ReflectiveOperationException {
        java.lang.reflect.Field f = Server.class.getDeclaredField("address");
        f.setAccessible(true);
        return f.get(s) != null;
    }

    /**
     * Finding 2: the stats page ({@code show stat}) and {@code show servers state} call {@link Server#address()} for
     * every server, so the first look at the stats gives each of a swarm's servers its address object for good (the
     * lazy address saves only until then). They can print {@link Server#literal()} and {@link Server#port()}.
     */
    @Test
    void lookingAtTheStatsMakesNoAddressObjects() throws Exception {
        ProxyBackend be = start();
        be.relist(vms(be, "vm_", 4), Set.of());
        List<Server> servers = be.servers();
        assertThat(servers).hasSize(4);
        StatsCollector.collect(proxy, ProxyStats.now());
        new RuntimeApi(proxy).runLine("show servers state",
            new RuntimeApi.Session(StatsSocketConfig.Level.ADMIN));
        for (Server s : servers) {
            assertThat(addressMade(s)).as("%s: address object made by a stats view", s).isFalse();
        }
    }

    /**
     * Finding 1: the stats readers (here the stats page's collector, as {@code show stat}) look a server's stats up
     * with {@link BackendStats#server}, which makes them when absent. A reader still walking the snapshot a relist
     * just replaced makes stats again for servers that left: they are never forgotten (ServerStatsTable keeps them for
     * good, the sampler walks them every second) and a later server of the same name starts from them, not from zero.
     * The event loops' Connector does the same for a server removed between its pick and its connect.
     */
    @Test
    void aStatsReaderRacingARelistLeavesNoStatsForServersThatLeft() throws Exception {
        ProxyBackend be = start();
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong views = new AtomicLong();
        Thread reader = new Thread(() -> {
            while (!done.get()) {
                StatsCollector.collect(proxy, ProxyStats.now());
                views.incrementAndGet();
            }
        }, "stats-reader");
        reader.start();
        int rounds = 20;
        int n = 1_000;
        try {
            for (int round = 0; round < rounds; round++) {
                be.relist(vms(be, "r" + round + "_", n), Set.of());
                long seen = views.get();
                long until = System.nanoTime() + 2_000_000_000L;
                while (views.get() < seen + 2 && System.nanoTime() < until) {
                    Thread.onSpinWait(); // let the reader walk this round's servers at least once
                }
                be.relist(List.of(), Set.of()); // all of them leave
            }
        } finally {
            done.set(true);
            reader.join(30_000);
        }
        assertThat(be.servers()).isEmpty();
        List<String> leaked = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < n; i++) {
                if (be.stats().serverIfPresent("r" + round + "_" + i) != null) {
                    leaked.add("r" + round + "_" + i);
                }
            }
        }
        assertThat(views.get()).isPositive();
        assertThat(leaked.size()).as("stats of servers that left, made again by the reader (%d views; first: %s)",
            views.get(), leaked.isEmpty() ? "-" : leaked.get(0)).isZero();
    }
}
