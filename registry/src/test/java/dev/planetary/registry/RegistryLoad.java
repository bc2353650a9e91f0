package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.registry.http.HttpLimits;
import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.Node;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scale figures (not a timed test; off unless {@code -Dplanetary.load=true}):
 * {@code mvn -B -pl registry -am test -Dtest=RegistryLoad -Dsurefire.failIfNoSpecifiedTests=false
 * -Dplanetary.load=true -Dplanetary.load.seconds=60}. Registers 1,900 VMs, opens 100 watch subscribers, then for the
 * given time sends 2,000 heartbeats/s (each VM about once a second) while registering and removing a VM 10 times a
 * second; reports heartbeat latency, registration-to-event latency at every subscriber, and whether every subscriber
 * got every event. Registry and load generator share this JVM and its 2 cores.
 * <p>{@code -Dplanetary.load.store=etcd}: the same on etcd (a single member started in the test's directory), with two
 * Genesis instances: registrations and heartbeats go to the first, the watch subscribers read the second, so the
 * registration-to-event figure is measured through a second instance. The initial registrations are timed too
 * (registrations/s, 64 in flight).
 */
@EnabledIfSystemProperty(named = "planetary.load", matches = "true")
class RegistryLoad {

    static final int VMS = 1_900;
    static final int SUBSCRIBERS = 100;
    static final int HEARTBEATS_PER_SECOND = 2_000;
    static final int CHURN_PER_SECOND = 10;

    @TempDir
    Path dir;

    @Test
    void measure() throws Exception {
        int seconds = Integer.getInteger("planetary.load.seconds", 60);
        Settings s = new Settings(Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ZERO, Duration.ZERO);
        // the whole swarm and its watchers come from one address here, as from behind a NAT gateway: the per-source
        // cap is raised to the total one (the default 256 would refuse most of them)
        HttpLimits limits = new HttpLimits(HttpLimits.DEFAULT_REQUEST_TIMEOUT, HttpLimits.DEFAULT_IDLE_TIMEOUT,
            HttpLimits.DEFAULT_MAX_CONNECTIONS, HttpLimits.DEFAULT_MAX_CONNECTIONS,
            HttpLimits.DEFAULT_WATCH_MAX_QUEUED_BYTES);
        boolean onEtcd = "etcd".equals(System.getProperty("planetary.load.store"));
        dev.planetary.registry.testing.EtcdProcess etcd = onEtcd
            ? dev.planetary.registry.testing.EtcdProcess.start(dir.resolve("etcd")) : null;
        dev.planetary.registry.etcd.EtcdTarget target = onEtcd
            ? new dev.planetary.registry.etcd.EtcdTarget(etcd.endpoints(), "/load/") : null;
        try (etcd; Node node = onEtcd
                ? Node.start(dir.resolve("a"), Clock.system(), s, limits, target) : Node.start(dir, Clock.system(), s, limits);
             Node second = onEtcd ? Node.start(dir.resolve("b"), Clock.system(), s, limits, target) : null) {
            Node watched = onEtcd ? second : node;
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .executor(Executors.newFixedThreadPool(4)).build();
            List<String> ids = new ArrayList<>();
            Map<String, String> secrets = new java.util.concurrent.ConcurrentHashMap<>();
            Semaphore inflight = new Semaphore(64);
            List<CompletableFuture<HttpResponse<String>>> regs = new ArrayList<>();
            long regStart = System.nanoTime();
            for (int i = 0; i < VMS; i++) {
                inflight.acquire();
                CompletableFuture<HttpResponse<String>> f = http.sendAsync(post(node, "{\"cores\": 4}"),
                    HttpResponse.BodyHandlers.ofString());
                f.whenComplete((r, e) -> inflight.release());
                regs.add(f);
            }
            for (CompletableFuture<HttpResponse<String>> f : regs) {
                JsonNode answer = Json.MAPPER.readTree(f.get(60, TimeUnit.SECONDS).body());
                ids.add(answer.get("id").asText());
                secrets.put(answer.get("id").asText(), answer.get("secret").asText());
            }
            double regSeconds = (System.nanoTime() - regStart) / 1e9;
            long v0 = node.version();
            long vWait = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (watched.version() < v0 && System.nanoTime() < vWait) {
                Thread.sleep(50); // the second instance follows the first's commits
            }

            Map<String, Long> sentAt = new ConcurrentHashMap<>();
            Recorder delivery = new Recorder(3);
            AtomicLong[] received = new AtomicLong[SUBSCRIBERS];
            List<InputStream> streams = new ArrayList<>();
            List<Thread> readers = new ArrayList<>();
            for (int i = 0; i < SUBSCRIBERS; i++) {
                AtomicLong count = new AtomicLong();
                received[i] = count;
                InputStream in = http.send(HttpRequest.newBuilder(URI.create(watched.base() + "/api/watch?since=" + v0))
                    .build(), HttpResponse.BodyHandlers.ofInputStream()).body();
                streams.add(in);
                Thread t = new Thread(() -> read(in, count, sentAt, delivery), "sub-" + i);
                t.setDaemon(true);
                t.start();
                readers.add(t);
            }

            Recorder hb = new Recorder(3);
            AtomicLong hbErrors = new AtomicLong();
            AtomicLong hbSent = new AtomicLong();
            AtomicLong churnSent = new AtomicLong();
            ScheduledExecutorService sched = Executors.newScheduledThreadPool(2);
            int perTick = HEARTBEATS_PER_SECOND / 100;
            int[] next = {0};
            Semaphore hbInflight = new Semaphore(512);
            sched.scheduleAtFixedRate(() -> {
                for (int k = 0; k < perTick; k++) {
                    String id = ids.get(next[0]++ % ids.size());
                    if (!hbInflight.tryAcquire()) {
                        hbErrors.incrementAndGet();
                        continue;
                    }
                    long t0 = System.nanoTime();
                    hbSent.incrementAndGet();
                    http.sendAsync(HttpRequest.newBuilder(URI.create(node.base() + "/api/vms/" + id + "/heartbeat"))
                            .header("Authorization", "Bearer " + secrets.get(id)).PUT(HttpRequest.BodyPublishers.noBody())
                            .build(), HttpResponse.BodyHandlers.discarding())
                        .whenComplete((r, e) -> {
                            hbInflight.release();
                            if (e != null || r.statusCode() != 200) {
                                hbErrors.incrementAndGet();
                            } else {
                                hb.recordValue(System.nanoTime() - t0);
                            }
                        });
                }
            }, 0, 10, TimeUnit.MILLISECONDS);
            AtomicLong seq = new AtomicLong();
            sched.scheduleAtFixedRate(() -> {
                String instance = "load-" + seq.incrementAndGet();
                sentAt.put(instance, System.nanoTime());
                churnSent.incrementAndGet();
                // the label names the registration in its event (the watch stream carries no instance keys)
                http.sendAsync(post(node, "{\"cores\": 1, \"instance\": \"" + instance + "\", \"labels\": "
                        + "{\"load\": \"" + instance + "\"}}"),
                        HttpResponse.BodyHandlers.ofString())
                    .thenCompose(r -> {
                        try {
                            JsonNode answer = Json.MAPPER.readTree(r.body());
                            String id = answer.get("id").asText();
                            return http.sendAsync(HttpRequest.newBuilder(URI.create(node.base() + "/api/vms/" + id))
                                .header("Authorization", "Bearer " + answer.get("secret").asText()).DELETE().build(),
                                HttpResponse.BodyHandlers.discarding());
                        } catch (Exception e) {
                            return CompletableFuture.failedFuture(e);
                        }
                    });
            }, 100, 1000 / CHURN_PER_SECOND, TimeUnit.MILLISECONDS);

            Histogram hbTotal = new Histogram(3);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.min(10, seconds / 6));
            while (System.nanoTime() < end) {
                Thread.sleep(1000);
                Histogram h = hb.getIntervalHistogram();
                if (System.nanoTime() > warmupEnd) {
                    hbTotal.add(h);
                }
            }
            sched.shutdown();
            sched.awaitTermination(10, TimeUnit.SECONDS);
            Thread.sleep(3000);
            long vEnd = node.version();
            Histogram del = delivery.getIntervalHistogram();
            long expected = vEnd - v0;
            long minReceived = Long.MAX_VALUE;
            for (AtomicLong r : received) {
                minReceived = Math.min(minReceived, r.get());
            }
            String report = String.format("store %s; %,d registrations in %.2f s (%.0f/s, 64 in flight)%n",
                onEtcd ? "etcd, events read from a second instance" : "local", VMS, regSeconds, VMS / regSeconds)
                + String.format(
                "duration %d s (first %d s warm-up excluded from heartbeat figures)%n"
                    + "heartbeats: sent %,d (%.0f/s), errors/refused %d; latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, "
                    + "max %.2f ms (n=%,d)%n"
                    + "churn: %,d registrations + %,d leaves; events %,d (versions %d..%d); every subscriber "
                    + "received at least %,d of %,d events%n"
                    + "registration sent -> added event at a subscriber: p50 %.2f ms, p99 %.2f ms, max %.2f ms "
                    + "(n=%,d deliveries over %d subscribers)%n",
                seconds, Math.min(10, seconds / 6), hbSent.get(), hbSent.get() / (double) seconds, hbErrors.get(),
                ms(hbTotal.getValueAtPercentile(50)), ms(hbTotal.getValueAtPercentile(99)),
                ms(hbTotal.getValueAtPercentile(99.9)), ms(hbTotal.getMaxValue()), hbTotal.getTotalCount(),
                churnSent.get(), churnSent.get(), expected, v0 + 1, vEnd, minReceived, expected,
                ms(del.getValueAtPercentile(50)), ms(del.getValueAtPercentile(99)), ms(del.getMaxValue()),
                del.getTotalCount(), SUBSCRIBERS);
            System.out.println("RESULTS\n" + report + "connections: " + node.get("/api/health").json().get("connections"));
            java.nio.file.Files.writeString(Path.of("target", onEtcd ? "load-results-etcd.txt" : "load-results.txt"),
                report);
            for (InputStream in : streams) {
                in.close();
            }
            assertThat(minReceived).isEqualTo(expected);
        }
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static HttpRequest post(Node node, String body) {
        return HttpRequest.newBuilder(URI.create(node.base() + "/api/vms")).header("Authorization", "Bearer " + Node.TOKEN)
            .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static void read(InputStream in, AtomicLong count, Map<String, Long> sentAt, Recorder delivery) {
        try (BufferedReader br = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String type = null;
            for (String line; (line = br.readLine()) != null; ) {
                if (line.startsWith("event: ")) {
                    type = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    count.incrementAndGet();
                    if ("added".equals(type)) {
                        JsonNode n = Json.MAPPER.readTree(line.substring(6));
                        Long t0 = sentAt.get(n.at("/vm/labels/load").asText());
                        if (t0 != null) {
                            delivery.recordValue(System.nanoTime() - t0);
                        }
                    }
                }
            }
        } catch (Exception e) {
            // closed at the end
        }
    }
}
