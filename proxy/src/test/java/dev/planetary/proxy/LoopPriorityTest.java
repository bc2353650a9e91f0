package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code loop-priority}: with {@code realtime N} every event loop thread of the proxy runs at {@code SCHED_RR}
 * priority N, read back from the kernel ({@code /proc/self/task/TID/stat}: policy and rt_priority); without it they
 * stay at the normal policy. The suite runs as root (the README's set-up), which may ask for real time.
 */
class LoopPriorityTest {

    private static final int SCHED_OTHER = 0;
    private static final int SCHED_RR = 2;

    private Proxy proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
    }

    private static String config(String global, int port) {
        return """
            global
                nbthread 2
            %s
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            listen l
                bind 127.0.0.1:%d
                server s1 127.0.0.1:9
            """.formatted(global, port);
    }

    @Test
    void realtimeLoopsRunAtSchedRrWithTheirPriority() {
        proxy = Harness.start(config("    loop-priority realtime 3", Ports.pcpu()));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
            assertThat(loops()).hasSize(2).allSatisfy(p -> assertThat(p)
                .as("{policy, rt_priority} of a loop (needs CAP_SYS_NICE: the proxy's log says if it was refused)")
                .containsExactly(SCHED_RR, 3)));
    }

    @Test
    void withoutTheKeywordLoopsStayAtTheNormalPolicy() throws Exception {
        proxy = Harness.start(config("", Ports.pcpu()));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(loops()).hasSize(2));
        assertThat(loops()).allSatisfy(p -> assertThat(p).containsExactly(SCHED_OTHER, 0));
    }

    /** {policy, rt_priority} of each event loop thread of this proxy, from the kernel (asked on each loop). */
    private List<int[]> loops() throws Exception {
        java.lang.reflect.Field f = Proxy.class.getDeclaredField("group");
        f.setAccessible(true);
        List<int[]> out = new ArrayList<>();
        for (EventExecutor loop : (EventLoopGroup) f.get(proxy)) {
            String tid = loop.submit(() -> Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName()
                .toString()).get(5, TimeUnit.SECONDS);
            String stat = Files.readString(Path.of("/proc/self/task", tid, "stat"));
            // fields after "(comm) ": the 3rd of stat is the state; rt_priority is the 40th, policy the 41st
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            out.add(new int[] {Integer.parseInt(fields[41 - 3]), Integer.parseInt(fields[40 - 3])});
        }
        return out;
    }
}
