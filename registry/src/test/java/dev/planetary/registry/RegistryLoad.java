package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.planetary.registry.etcd.EtcdCluster;
import dev.planetary.registry.etcd.EtcdTarget;
import dev.planetary.registry.http.HttpLimits;
import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.EtcdProcess;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scale figures (not a timed test; off unless {@code -Dplanetary.load=true}):
 * {@code mvn -B -pl registry -am test -Dtest=RegistryLoad -Dsurefire.failIfNoSpecifiedTests=false
 * -Dplanetary.load=true -Dplanetary.load.seconds=60}. Registers 1,900 VMs, opens 100 watch subscribers, then for the
 * given time sends 2,000 heartbeats/s (each VM about once a second) while registering and removing a VM 10 times a
 * second; reports heartbeat latency, registration-to-event latency at every subscriber, and whether every subscriber
 * got every event. Registry and load generator share this JVM and its 2 cores. Heartbeats start with the first
 * registration and go to every VM registered so far, so no VM outlives its TTL while the others register (the
 * registration phase's heartbeats are left out of the figures).
 * <p>{@code -Dplanetary.load.store=S[,S...]}: the stores to measure, back to back in this JVM (each from a new
 * directory), so that a loaded machine loads every column alike; {@code -Dplanetary.load.rounds=N} repeats the list
 * (interleaved: local, etcd, local, etcd, ...). {@code local} (the default): the write-ahead log. {@code etcd}: one etcd
 * member started in the test's directory; {@code etcd3}: a 3-member {@link EtcdCluster} on 127.0.0.1. On etcd there are
 * two Genesis instances: registrations and heartbeats go to the first, the watch subscribers read the second, so the
 * registration-to-event figure is measured through a second instance. The initial registrations are timed
 * (registrations/s, 64 in flight). Every report goes to {@code target/load-results-STORE.txt}, the lot to the output.
 */
@EnabledIfSystemProperty(named = "planetary.load", matches = "true")
class RegistryLoad {

    /**
     * VMs registered and heartbeating ({@code -Dplanetary.load.vms}, default 1,900): the port plan holds 1,999, and the
     * churn's registrations need room beside them while their left VMs' ports are held.
     */
    static final int VMS = Integer.getInteger("planetary.load.vms", 1_900);
    static final int SUBSCRIBERS = 100;
    static final int HEARTBEATS_PER_SECOND = 2_000;
    static final int CHURN_PER_SECOND = 10;
    /** After the load stops, subscribers that are behind get this long to read the events they miss. */
    static final Duration CATCH_UP = Duration.ofSeconds(60);

    static final String LOCAL = "local";
    static final String ETCD = "etcd";
    static final String ETCD_CLUSTER = "etcd3";

    @TempDir
    Path dir;

    /** One run's figures and whether every subscriber got every event. */
    private record Run(String store, String report, long minReceived, long expected) {
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.MINUTES) // several stores and rounds back to back: longer than the default
    void measure() throws Exception {
        int seconds = Integer.getInteger("planetary.load.seconds", 60);
        int rounds = Integer.getInteger("planetary.load.rounds", 1);
        List<String> stores = List.of(System.getProperty("planetary.load.store", LOCAL).split(","));
        for (String st : stores) {
            if (!List.of(LOCAL, ETCD, ETCD_CLUSTER).contains(st)) {
                throw new IllegalArgumentException("planetary.load.store: '" + st + "' is none of " + LOCAL + ", "
                    + ETCD + ", " + ETCD_CLUSTER);
            }
        }
        List<Run> runs = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            for (String st : stores) {
                double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
                Run r = run(st, seconds, dir.resolve(st + "-" + round));
                String head = String.format("== %s, round %d of %d (load average at start %.1f)%n", st, round, rounds,
                    load);
                System.out.println("RESULTS\n" + head + r.report());
                java.nio.file.Files.writeString(Path.of("target", "load-results-" + st + ".txt"), head + r.report(),
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
                runs.add(new Run(st, head + r.report(), r.minReceived(), r.expected()));
            }
        }
        System.out.println("ALL RESULTS");
        runs.forEach(r -> System.out.print(r.report()));
        for (Run r : runs) {
            // at least: VMs whose heartbeats stopped with the load may expire while the subscribers catch up
            assertThat(r.minReceived()).as(r.store() + ": every subscriber got every event")
                .isGreaterThanOrEqualTo(r.expected());
        }
    }

    private Run run(String store, int seconds, Path runDir) throws Exception {
        Settings s = new Settings(Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ZERO, Duration.ZERO);
        // the whole swarm and its watchers come from one address here, as from behind a NAT gateway: the per-source
        // cap is raised to the total one (the default 256 would refuse most of them)
        HttpLimits limits = new HttpLimits(HttpLimits.DEFAULT_REQUEST_TIMEOUT, HttpLimits.DEFAULT_IDLE_TIMEOUT,
            HttpLimits.DEFAULT_MAX_CONNECTIONS, HttpLimits.DEFAULT_MAX_CONNECTIONS,
            HttpLimits.DEFAULT_WATCH_MAX_QUEUED_BYTES);
        java.nio.file.Files.createDirectories(runDir);
        boolean onEtcd = !LOCAL.equals(store);
        EtcdProcess etcd = ETCD.equals(store) ? EtcdProcess.start(runDir.resolve("etcd")) : null;
        EtcdCluster cluster = ETCD_CLUSTER.equals(store) ? EtcdCluster.start() : null;
        EtcdTarget target = etcd != null ? new EtcdTarget(etcd.endpoints(), "/load/")
            : cluster != null ? new EtcdTarget(cluster.endpoints(), "/load/") : null;
        ExecutorService httpPool = Executors.newFixedThreadPool(4);
        ScheduledExecutorService sched = Executors.newScheduledThreadPool(2);
        try (etcd; cluster; Node node = onEtcd
                ? Node.start(runDir.resolve("a"), Clock.system(), s, limits, target)
                : Node.start(runDir, Clock.system(), s, limits);
             Node second = onEtcd ? Node.start(runDir.resolve("b"), Clock.system(), s, limits, target) : null) {
            Node watched = onEtcd ? second : node;
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(httpPool).build();
            // VMs heartbeat from their registration on: the heartbeat loop walks this list as it grows
            List<String> ids = new CopyOnWriteArrayList<>();
            Map<String, String> secrets = new ConcurrentHashMap<>();

            Recorder hb = new Recorder(3);
            AtomicLong hbErrors = new AtomicLong();
            // what the errors were: refused here (cap reached), an HTTP status, or the client's exception
            Map<String, AtomicLong> hbErrorKinds = new ConcurrentHashMap<>();
            AtomicLong hbSent = new AtomicLong();
            AtomicLong churnSent = new AtomicLong();
            int perTick = HEARTBEATS_PER_SECOND / 100;
            long[] next = {0};
            Semaphore hbInflight = new Semaphore(512);
            sched.scheduleAtFixedRate(() -> {
                int n = ids.size();
                for (int k = 0; k < perTick && n > 0; k++) {
                    if (!hbInflight.tryAcquire()) {
                        // the VM stays next in line: a saturated client delays heartbeats, it never skips a VM
                        hbErrors.incrementAndGet();
                        hbErrorKinds.computeIfAbsent("refused: 512 in flight", x -> new AtomicLong())
                            .incrementAndGet();
                        break;
                    }
                    String id = ids.get((int) (next[0]++ % n));
                    long t0 = System.nanoTime();
                    hbSent.incrementAndGet();
                    http.sendAsync(HttpRequest.newBuilder(URI.create(node.base() + "/api/vms/" + id + "/heartbeat"))
                            .header("Authorization", "Bearer " + secrets.get(id)).PUT(HttpRequest.BodyPublishers.noBody())
                            .build(), HttpResponse.BodyHandlers.discarding())
                        .whenComplete((r, e) -> {
                            hbInflight.release();
                            if (e != null || r.statusCode() != 200) {
                                hbErrors.incrementAndGet();
                                String kind = e != null ? e.getClass().getSimpleName() : "HTTP " + r.statusCode();
                                hbErrorKinds.computeIfAbsent(kind, x -> new AtomicLong()).incrementAndGet();
                            } else {
                                hb.recordValue(System.nanoTime() - t0);
                            }
                        });
                }
            }, 0, 10, TimeUnit.MILLISECONDS);

            Semaphore inflight = new Semaphore(64);
            List<CompletableFuture<Void>> regs = new ArrayList<>();
            AtomicLong regErrors = new AtomicLong();
            long regStart = System.nanoTime();
            for (int i = 0; i < VMS; i++) {
                inflight.acquire();
                regs.add(http.sendAsync(post(node, "{\"cores\": 4}"), HttpResponse.BodyHandlers.ofString())
                    .thenAccept(r -> {
                        try {
                            JsonNode answer = Json.MAPPER.readTree(r.body());
                            String id = answer.get("id").asText();
                            secrets.put(id, answer.get("secret").asText());
                            ids.add(id);
                        } catch (Exception e) {
                            regErrors.incrementAndGet();
                        }
                    })
                    .whenComplete((r, e) -> inflight.release()));
            }
            CompletableFuture.allOf(regs.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            double regSeconds = (System.nanoTime() - regStart) / 1e9;
            assertThat(ids).as("registered (answers without an id: " + regErrors + ")").hasSize(VMS);
            hb.getIntervalHistogram(); // the registration phase's heartbeats are not in the figures
            long hbSentDuringRegistration = hbSent.getAndSet(0);
            long hbErrorsDuringRegistration = hbErrors.getAndSet(0);
            String hbErrorKindsDuringRegistration = new java.util.TreeMap<>(hbErrorKinds).toString();
            hbErrorKinds.clear();
            long v0 = node.version();
            long vWait = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (watched.version() < v0 && System.nanoTime() < vWait) {
                Thread.sleep(50); // the second instance follows the first's commits
            }

            Map<String, Long> sentAt = new ConcurrentHashMap<>();
            // the first subscriber's events by type and reason: shows whether VMs expired during the run
            Map<String, AtomicLong> firstKinds = new ConcurrentHashMap<>();
            Recorder delivery = new Recorder(3);
            AtomicLong[] received = new AtomicLong[SUBSCRIBERS];
            List<InputStream> streams = new ArrayList<>();
            for (int i = 0; i < SUBSCRIBERS; i++) {
                AtomicLong count = new AtomicLong();
                received[i] = count;
                InputStream in = http.send(HttpRequest.newBuilder(URI.create(watched.base() + "/api/watch?since=" + v0))
                    .build(), HttpResponse.BodyHandlers.ofInputStream()).body();
                streams.add(in);
                Map<String, AtomicLong> kinds = i == 0 ? firstKinds : null;
                Thread t = new Thread(() -> read(in, count, sentAt, delivery, kinds), "sub-" + i);
                t.setDaemon(true);
                t.start();
            }

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
            long measureStart = System.nanoTime();
            long end = measureStart + TimeUnit.SECONDS.toNanos(seconds);
            int warmup = Math.min(10, seconds / 6);
            long warmupEnd = measureStart + TimeUnit.SECONDS.toNanos(warmup);
            long hbAtWarmup = -1;
            while (System.nanoTime() < end) {
                Thread.sleep(1000);
                Histogram h = hb.getIntervalHistogram();
                if (System.nanoTime() > warmupEnd) {
                    hbTotal.add(h);
                } else {
                    hbAtWarmup = hbSent.get();
                }
            }
            sched.shutdown();
            sched.awaitTermination(10, TimeUnit.SECONDS);
            hbTotal.add(hb.getIntervalHistogram()); // answers to the last sends
            long vEnd = node.version();
            long expected = vEnd - v0;
            // bounded wait for subscribers that are behind (a loaded machine), then the count
            long catchUpStart = System.nanoTime();
            long catchUpEnd = catchUpStart + CATCH_UP.toNanos();
            while (minOf(received) < expected && System.nanoTime() < catchUpEnd) {
                Thread.sleep(100);
            }
            double caughtUpSeconds = (System.nanoTime() - catchUpStart) / 1e9;
            long minReceived = minOf(received);
            Histogram del = delivery.getIntervalHistogram();
            double measured = seconds - warmup;
            long hbMeasured = hbSent.get() - Math.max(0, hbAtWarmup);
            String where = LOCAL.equals(store) ? "local (write-ahead log, fsync)"
                : (ETCD.equals(store) ? "etcd, 1 member" : "etcd, 3-member cluster")
                    + "; 2 Genesis instances, events read from the second";
            String report = String.format("store %s%n%,d registrations in %.2f s (%.0f/s, 64 in flight; heartbeats "
                    + "from registration on: %,d sent, %,d errors/refused meanwhile %s)%n",
                where, VMS, regSeconds, VMS / regSeconds, hbSentDuringRegistration, hbErrorsDuringRegistration,
                hbErrorKindsDuringRegistration)
                + String.format(
                "duration %d s (first %d s warm-up excluded from heartbeat figures)%n"
                    + "heartbeats: sent %,d (%.0f/s measured), errors/refused %d %s; latency p50 %.2f ms, p99 %.2f ms, "
                    + "p99.9 %.2f ms, max %.2f ms (n=%,d)%n"
                    + "churn: %,d registrations + %,d leaves; events %,d (versions %d..%d); every subscriber "
                    + "received at least %,d of %,d events (%.1f s after the load stopped)%n"
                    + "registration sent -> added event at a subscriber: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, "
                    + "max %.2f ms (n=%,d deliveries over %d subscribers)%n"
                    + "events at the first subscriber by type/reason: %s; VMs at the end %s (1,900 registered)%n"
                    + "connections at the end: %s%n",
                seconds, warmup, hbSent.get(), hbMeasured / measured, hbErrors.get(),
                new java.util.TreeMap<>(hbErrorKinds),
                ms(hbTotal.getValueAtPercentile(50)), ms(hbTotal.getValueAtPercentile(99)),
                ms(hbTotal.getValueAtPercentile(99.9)), ms(hbTotal.getMaxValue()), hbTotal.getTotalCount(),
                churnSent.get(), churnSent.get(), expected, v0 + 1, vEnd, minReceived, expected, caughtUpSeconds,
                ms(del.getValueAtPercentile(50)), ms(del.getValueAtPercentile(99)), ms(del.getValueAtPercentile(99.9)),
                ms(del.getMaxValue()), del.getTotalCount(), SUBSCRIBERS, new java.util.TreeMap<>(firstKinds),
                node.get("/api/vms").json().get("count"),
                node.get("/api/health").json().get("connections"));
            for (InputStream in : streams) {
                in.close();
            }
            return new Run(store, report, minReceived, expected);
        } finally {
            sched.shutdownNow();
            httpPool.shutdownNow();
        }
    }

    private static long minOf(AtomicLong[] counts) {
        long min = Long.MAX_VALUE;
        for (AtomicLong c : counts) {
            min = Math.min(min, c.get());
        }
        return min;
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static HttpRequest post(Node node, String body) {
        return HttpRequest.newBuilder(URI.create(node.base() + "/api/vms")).header("Authorization", "Bearer " + Node.TOKEN)
            .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    /**
     * Counts the changes a subscriber reads (not the snapshot a resume may start with), records registration-to-event
     * latency, and with {@code kinds} counts events by type and reason.
     */
    private static void read(InputStream in, AtomicLong count, Map<String, Long> sentAt, Recorder delivery,
                             Map<String, AtomicLong> kinds) {
        try (BufferedReader br = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String type = null;
            for (String line; (line = br.readLine()) != null; ) {
                if (line.startsWith("event: ")) {
                    type = line.substring(7);
                } else if (line.startsWith("data: ") && !"snapshot".equals(type)) {
                    count.incrementAndGet();
                    if (kinds != null) {
                        String reason = Json.MAPPER.readTree(line.substring(6)).path("reason").asText("");
                        kinds.computeIfAbsent(type + "/" + reason, k -> new AtomicLong()).incrementAndGet();
                    }
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
