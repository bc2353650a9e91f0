package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.core.config.ConfigParser;
import dev.planetary.core.config.ConfigResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The control agent batches what queued up while it was busy: many callers, one snapshot. */
class ControlAgentTest {

    private final TestBackends backends = new TestBackends();

    @AfterEach
    void tearDown() {
        backends.close();
    }

    @Test
    void changesQueuedWhileTheOwnerIsBusyBecomeOneSnapshot() throws Exception {
        StringBuilder cfg = new StringBuilder("backend be\n    balance source\n    hash-type consistent\n");
        for (int i = 0; i < 50; i++) {
            cfg.append("    server s").append(i).append(" 127.0.0.1:9\n");
        }
        ConfigResult r = ConfigParser.parse("agent.cfg", cfg.toString());
        assertThat(r.errors()).isEmpty();
        ProxyBackend pb = backends.create(r.config().backends().get(0));
        long version = pb.backend().snapshot().version();

        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch busy = new CountDownLatch(1);
        CompletableFuture<Void> job = pb.control().run(() -> {
            started.countDown();
            try {
                busy.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        // the owner must be inside the job before the callers send: woken late (a loaded machine), it would drain
        // their changes into the job's own round, and none would be left waiting in its inbox
        assertThat(started.await(30, TimeUnit.SECONDS)).as("the owner runs the blocking job").isTrue();
        ExecutorService threads = Executors.newFixedThreadPool(41); // one blocked caller per thread
        List<CompletableFuture<Void>> callers = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            String name = "s" + i;
            int weight = 2 + i % 5;
            callers.add(CompletableFuture.runAsync(() -> pb.setWeight(name, weight), threads));
        }
        callers.add(CompletableFuture.runAsync(() -> pb.drain("s45"), threads));
        // every caller waits for its answer; none can have it while the owner is busy
        await().atMost(Duration.ofSeconds(30)).until(() -> pb.control().queued() == 41);
        assertThat(callers).noneMatch(CompletableFuture::isDone);
        busy.countDown();
        job.get(10, TimeUnit.SECONDS);
        CompletableFuture.allOf(callers.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
        threads.shutdown();

        for (int i = 0; i < 40; i++) {
            assertThat(pb.backend().server("s" + i).orElseThrow().weight()).isEqualTo(2 + i % 5);
        }
        assertThat(pb.backend().snapshot().active().usableCount()).isEqualTo(49);
        assertThat(pb.backend().snapshot().version() - version)
            .as("snapshots for 41 changes that queued up together").isEqualTo(1);
    }
}
