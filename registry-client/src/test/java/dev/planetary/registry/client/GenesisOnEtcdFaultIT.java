package dev.planetary.registry.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.planetary.registry.client.testing.GenesisJar;
import dev.planetary.registry.client.testing.HoldingRelay;
import dev.planetary.registry.client.testing.Recorder;
import dev.planetary.registry.client.testing.TestGenesis;
import dev.planetary.registry.etcd.EtcdCluster;
import dev.planetary.testkit.Procs;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's faults at the API, with real processes: a 3-member etcd cluster ({@link EtcdCluster}), two Genesis jars
 * on it ({@code --store etcd}), agents and watches from this library, and a registrar that registers VMs all along
 * (and heartbeats each from its registration on), counting every registration Genesis acknowledged (2xx).
 * <ol>
 * <li>(a) Genesis g1 killed (SIGKILL by PID) mid-registration: one registration committed and answered but its answer
 *   held back (a relay), one sent while g1 was frozen (SIGSTOP) so never processed, and the registrar's own request in
 *   flight; each client retries on g2: the committed one gets the same id and ports there, the others register.</li>
 * <li>(b) one etcd member killed (a follower, then the leader): registrations and heartbeats keep succeeding (the
 *   clients' own retries allowed, counted), watchers keep receiving.</li>
 * <li>(c) quorum lost (a second member killed): writes answer 503 with a clear error, reads and the watch streams keep
 *   the last view (the stream stays open, nothing removed, past a whole TTL); when a member returns, writes succeed
 *   again without restarting Genesis.</li>
 * <li>(d) every acknowledged registration is there at the end, with its id and ports, and was never removed from a
 *   watcher's view.</li>
 * </ol>
 * Timings and counts are printed (FAULTS lines) for registry/RESULTS.md; the bounds are generous for a loaded machine.
 */
class GenesisOnEtcdFaultIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    /** A commit caught by an etcd fault fails at the store's 3 s bound; a loaded machine's margin on top. */
    private static final Duration WRITE_BOUND = Duration.ofSeconds(15);
    /** Genesis' TTL in {@link GenesisJar} (5 s) and a margin: quorum stays lost longer than a VM's TTL. */
    private static final Duration QUORUM_LOST_FOR = Duration.ofSeconds(7);
    /** The registrar's pace: a few hundred VMs over the test, heartbeats for all of them kept light. */
    private static final long REGISTER_EVERY_MILLIS = 150;
    private static final long HEARTBEAT_EVERY_MILLIS = 1_000;
    /** A registration not acknowledged after this long of retries is given up (and fails the test). */
    private static final Duration GIVE_UP = Duration.ofSeconds(45);
    private static final String TOKEN = "etcd-fault-it-token-0123456789";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path dir;
    final List<Process> started = new ArrayList<>();
    final List<AutoCloseable> closing = new ArrayList<>();
    EtcdCluster cluster;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2)).build();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
        started.forEach(Procs::killNow);
        if (cluster != null) {
            cluster.close();
        }
    }

    /** A registration Genesis acknowledged: what it answered. */
    record Acked(String instance, String id, Map<String, Integer> ports, String secret, long atNanos) {
    }

    /**
     * Registers VMs one after another (instance keys reg-1, reg-2, ...), each retried with the same body on the next
     * Genesis of its list after no answer or a 5xx, until acknowledged (2xx) or {@link #GIVE_UP}; and heartbeats every
     * VM acknowledged so far. Counts by phase what failed.
     */
    final class Registrar implements AutoCloseable {
        final List<URI> urls;
        /** Registration and heartbeats each move to the next URL on their own failures, as the agent's do. */
        volatile int regCurrent;
        volatile int hbCurrent;
        volatile boolean stop;
        volatile String phase = "start";
        final Map<String, Acked> acked = new ConcurrentHashMap<>();
        final Map<String, AtomicLong> failures = new ConcurrentHashMap<>();
        final List<String> unexpected = new java.util.concurrent.CopyOnWriteArrayList<>();
        final AtomicLong hbOk = new AtomicLong();
        final AtomicLong registrationsSent = new AtomicLong();
        /** Nanos when the request now in flight was sent, 0 when none is. */
        volatile long inFlightSince;
        volatile long longestWaitNanos;
        final Thread registering = new Thread(this::registerLoop, "registrar");
        final Thread heartbeating = new Thread(this::heartbeatLoop, "registrar-heartbeats");

        Registrar(List<URI> urls) {
            this.urls = urls;
            registering.setDaemon(true);
            heartbeating.setDaemon(true);
            registering.start();
            heartbeating.start();
        }

        void fail(String what, URI at) {
            failures.computeIfAbsent(phase + " " + what + " at " + at, k -> new AtomicLong()).incrementAndGet();
        }

        long failed(String prefix) {
            return failures.entrySet().stream().filter(e -> e.getKey().startsWith(prefix))
                .mapToLong(e -> e.getValue().get()).sum();
        }

        /** Failures of that kind at {@code at} only (not the moves away from a Genesis that is dead). */
        long failed(String prefix, URI at) {
            return failures.entrySet().stream().filter(e -> e.getKey().startsWith(prefix)
                && e.getKey().endsWith(" at " + at)).mapToLong(e -> e.getValue().get()).sum();
        }

        private void registerLoop() {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            for (int n = 1; !stop && System.nanoTime() < deadline; n++) {
                String instance = "reg-" + n;
                String body = "{\"cores\": 1, \"instance\": \"" + instance + "\", \"services\": {\"ssh\": 22}}";
                long first = System.nanoTime();
                boolean done = false;
                while (!done && !stop && System.nanoTime() - first < GIVE_UP.toNanos()) {
                    URI to = urls.get(regCurrent);
                    registrationsSent.incrementAndGet();
                    try {
                        inFlightSince = System.nanoTime();
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(to.resolve("/api/vms"))
                            .header("Authorization", "Bearer " + TOKEN).timeout(Duration.ofSeconds(5))
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                        inFlightSince = 0;
                        if (r.statusCode() / 100 == 2) {
                            JsonNode a = MAPPER.readTree(r.body());
                            acked.put(instance, new Acked(instance, a.get("id").asText(), ports(a.get("ports")),
                                a.get("secret").asText(), System.nanoTime()));
                            longestWaitNanos = Math.max(longestWaitNanos, System.nanoTime() - first);
                            done = true;
                        } else if (r.statusCode() >= 500) {
                            fail("register " + r.statusCode(), to);
                            next();
                        } else {
                            unexpected.add("register " + instance + " at " + to + ": " + r.statusCode() + " " + r.body());
                            stop = true;
                        }
                    } catch (IOException e) {
                        inFlightSince = 0;
                        fail("register no answer", to);
                        next();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (!done && !stop) {
                    unexpected.add("registration " + instance + " never acknowledged within " + GIVE_UP);
                }
                pause(REGISTER_EVERY_MILLIS);
            }
        }

        private void next() {
            regCurrent = (regCurrent + 1) % urls.size();
            pause(100);
        }

        private void heartbeatLoop() {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (!stop && System.nanoTime() < deadline) {
                long round = System.nanoTime();
                for (Acked a : List.copyOf(acked.values())) {
                    heartbeat(a);
                }
                pause(Math.max(1, HEARTBEAT_EVERY_MILLIS - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - round)));
            }
        }

        /** One heartbeat, handed to the next Genesis once when this one does not answer or answers 5xx. */
        private void heartbeat(Acked a) {
            for (int attempt = 0; attempt < 2 && !stop; attempt++) {
                URI to = urls.get(hbCurrent);
                try {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(to.resolve("/api/vms/" + a.id()
                            + "/heartbeat")).header("Authorization", "Bearer " + a.secret())
                        .timeout(Duration.ofSeconds(5)).PUT(HttpRequest.BodyPublishers.noBody()).build(),
                        HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200) {
                        hbOk.incrementAndGet();
                        return;
                    }
                    if (r.statusCode() < 500) { // 404: Genesis lost or expired an acknowledged VM
                        unexpected.add("heartbeat " + a.instance() + " (" + a.id() + ") at " + to + ": "
                            + r.statusCode() + " " + r.body());
                        return;
                    }
                    fail("heartbeat " + r.statusCode(), to);
                } catch (IOException e) {
                    fail("heartbeat no answer", to);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                hbCurrent = (hbCurrent + 1) % urls.size();
            }
        }

        private void pause(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop = true;
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            registering.join(10_000);
            heartbeating.join(10_000);
        }
    }

    private static Map<String, Integer> ports(JsonNode n) {
        Map<String, Integer> p = new TreeMap<>();
        n.properties().forEach(e -> p.put(e.getKey(), e.getValue().intValue()));
        return p;
    }

    private Procs.Running genesis(String name, int port) {
        Procs.Running r = GenesisJar.start(dir, name, port, dir.resolve(name), TOKEN,
            List.of("--store", "etcd", "--etcd", String.join(",", cluster.urls())));
        synchronized (started) {
            started.add(r.process());
        }
        return r;
    }

    private Agent agent(String instance, String address, URI... urls) throws Exception {
        Agent a = Agent.start(AgentOptions.builder().genesis(List.of(urls)).token(TOKEN).cores(2).instance(instance)
            .service("ssh", 22).address(InetAddress.getByName(address)).initialBackoff(Duration.ofMillis(50))
            .maxBackoff(Duration.ofMillis(500)).random(new Random(13))
            // longer than the frozen or answer-held registration waits: what ends it is g1's death, not a timeout
            .requestTimeout(Duration.ofSeconds(30)).build());
        closing.add(a::halt);
        return a;
    }

    private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.header("Authorization", "Bearer " + TOKEN).timeout(Duration.ofSeconds(20)).build(),
            HttpResponse.BodyHandlers.ofString());
    }

    /** Genesis' list with instance keys (the join token shows them): instance key to VM. */
    private Map<String, JsonNode> vmsByInstance(URI g) throws Exception {
        HttpResponse<String> r = send(HttpRequest.newBuilder(g.resolve("/api/vms")));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        Map<String, JsonNode> out = new HashMap<>();
        for (JsonNode vm : MAPPER.readTree(r.body()).get("vms")) {
            out.put(vm.path("instance").asText(vm.get("id").asText()), vm);
        }
        return out;
    }

    private static void signal(Path dir, String sig, long pid) throws InterruptedException {
        Procs.Result r = Procs.run(dir, null, Duration.ofSeconds(10), List.of("kill", "-" + sig, Long.toString(pid)));
        assertThat(r.code()).as(r.toString()).isZero();
    }

    /** VM ids that some view of the recorder held and a later view no longer did. */
    private static Set<String> removed(Recorder rec) {
        Set<String> out = new HashSet<>();
        SwarmView prev = null;
        for (SwarmView v : rec.views) {
            if (prev != null) {
                for (String id : prev.vms().keySet()) {
                    if (!v.vms().containsKey(id)) {
                        out.add(id);
                    }
                }
            }
            prev = v;
        }
        return out;
    }

    /** The body of one whole HTTP answer (headers and Content-Length bytes), or null while it is incomplete. */
    private static String wholeAnswer(String raw) {
        int end = raw.indexOf("\r\n\r\n");
        if (end < 0) {
            return null;
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)\r\ncontent-length: *(\\d+)")
            .matcher(raw.substring(0, end));
        if (!m.find()) {
            return null;
        }
        byte[] body = raw.substring(end + 4).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int len = Integer.parseInt(m.group(1));
        return body.length >= len ? new String(body, 0, len, java.nio.charset.StandardCharsets.UTF_8) : null;
    }

    private static long ms(long fromNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - fromNanos);
    }

    private static void report(String line) {
        System.out.println("FAULTS " + line);
    }

    @Test
    void genesisAndEtcdFaultsLoseNoAcknowledgedRegistration() throws Exception {
        long testStart = System.nanoTime();
        cluster = EtcdCluster.start();
        int p1 = TestGenesis.freePort();
        int p2 = TestGenesis.freePort();
        URI u1 = URI.create("http://127.0.0.1:" + p1);
        URI u2 = URI.create("http://127.0.0.1:" + p2);
        // both JVMs start at once: the start is most of this test's time on a loaded machine
        CompletableFuture<Procs.Running> g2Start = CompletableFuture.supplyAsync(() -> genesis("g2", p2));
        Procs.Running g1 = genesis("g1", p1);
        g2Start.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        report("setup: cluster and two Genesis up in " + ms(testStart) + " ms");

        Recorder rec1 = new Recorder();
        Recorder rec2 = new Recorder();
        WatchOptions wo = WatchOptions.builder().initialBackoff(Duration.ofMillis(50))
            .maxBackoff(Duration.ofMillis(500)).random(new Random(7)).build();
        SwarmWatch w1 = SwarmWatch.start(List.of(u1, u2), rec1, wo); // on g1 until it dies
        closing.add(w1);
        SwarmWatch w2 = SwarmWatch.start(List.of(u2, u1), rec2, wo); // on g2 throughout
        closing.add(w2);
        Registrar reg = new Registrar(List.of(u1, u2));
        closing.add(reg);
        await().atMost(WAIT).until(() -> reg.acked.size() >= 5 && w2.view().vms().size() >= 5
            && w1.view().vms().size() >= 5);
        assertThat(w1.currentUrl()).isEqualTo(u1);

        // ---- (a) g1 killed mid-registration ----
        reg.phase = "a";
        InetSocketAddress g1Addr = new InetSocketAddress("127.0.0.1", p1);
        HoldingRelay committed = HoldingRelay.start(g1Addr, InetAddress.getByName("127.0.0.61"));
        closing.add(committed);
        HoldingRelay frozen = HoldingRelay.start(g1Addr, InetAddress.getByName("127.0.0.62"));
        closing.add(frozen);
        Agent a1 = agent("mid-commit", "127.0.0.61", committed.uri(), u2);
        // g1 committed and answered; the answer never reaches the agent
        await().atMost(WAIT).until(() -> wholeAnswer(committed.held()) != null);
        String heldAnswer = committed.held();
        assertThat(heldAnswer).startsWith("HTTP/1.1 201");
        JsonNode g1Said = MAPPER.readTree(wholeAnswer(heldAnswer));
        assertThat(a1.registered()).isFalse();

        signal(dir, "STOP", g1.pid()); // frozen: what reaches it now is never processed
        Agent a2 = agent("mid-request", "127.0.0.62", frozen.uri(), u2);
        // the registrar's next request hangs on frozen g1 too (unless an earlier failure moved it to g2 already)
        await().atMost(WAIT).until(() -> frozen.forwarded().contains("mid-request") && (reg.regCurrent != 0
            || reg.inFlightSince != 0 && System.nanoTime() - reg.inFlightSince > TimeUnit.MILLISECONDS.toNanos(300)));
        long killedAt = System.nanoTime();
        g1.process().destroyForcibly(); // SIGKILL by its PID (a stopped process dies of it too)
        assertThat(g1.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(a1.registered()).as("the answer never reached it").isFalse();
        assertThat(a2.registered()).as("frozen g1 never answered").isFalse();
        committed.cut(); // the relays' clients lose their connections with g1, as direct clients did
        frozen.cut();

        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> a1.registered() && a2.registered()
            && u2.equals(w1.currentUrl()) && !w1.stale());
        long aRecovered = ms(killedAt);
        assertThat(a1.vmId()).as("the committed registration: the same VM on g2").isEqualTo(g1Said.get("id").asText());
        assertThat(a1.ports()).as("and the same ports").isEqualTo(ports(g1Said.get("ports")));
        assertThat(a1.currentUrl()).isEqualTo(u2);
        assertThat(a2.currentUrl()).isEqualTo(u2);
        await().atMost(WAIT).until(() -> reg.regCurrent == 1);
        long registrarCut = reg.failed("a register no answer", u1);
        Map<String, JsonNode> onG2 = vmsByInstance(u2);
        assertThat(onG2.get("mid-commit").get("id").asText()).isEqualTo(a1.vmId());
        assertThat(onG2.get("mid-request").get("id").asText()).isEqualTo(a2.vmId());
        assertThat(w1.relists()).as("g2 holds g1's history: the watch resumed by version").isZero();
        report(String.format("(a) g1 SIGKILLed with 3 registrations in flight (1 committed, answer held; 1 sent to "
                + "frozen g1; registrar's %d): both agents registered on g2 and the watch on g2 %d ms after the kill; "
                + "committed one kept id %s and ports %s", registrarCut, aRecovered, a1.vmId(), a1.ports()));

        assertThat(reg.unexpected).isEmpty();

        // ---- (b1) an etcd follower killed ----
        int leader = cluster.leader();
        assertThat(leader).isBetween(0, 2);
        int follower = (leader + 1) % EtcdCluster.MEMBERS;
        reg.phase = "b1";
        int ackedBefore = reg.acked.size();
        long hbBefore = reg.hbOk.get();
        long a1HbBefore = a1.heartbeats();
        cluster.kill(follower);
        long b1At = System.nanoTime();
        await().atMost(WAIT).until(() -> reg.acked.size() >= ackedBefore + 10 && ms(b1At) > 3_000);
        assertThat(reg.hbOk.get()).as("heartbeats go on").isGreaterThan(hbBefore);
        assertThat(a1.heartbeats()).isGreaterThan(a1HbBefore);
        Set<String> b1Ids = new HashSet<>();
        reg.acked.values().stream().filter(a -> a.atNanos() > b1At).forEach(a -> b1Ids.add(a.id()));
        await().atMost(WAIT).until(() -> w2.view().vms().keySet().containsAll(b1Ids)
            && w1.view().vms().keySet().containsAll(b1Ids));
        long b1Acked = reg.acked.size() - ackedBefore;
        // a heartbeat never waits for etcd; a registration whose commit was in flight on the killed member may answer
        // 503 (the client retries): counted, not asserted
        assertThat(reg.failed("b1 heartbeat", u2)).as("heartbeats answered by g2").isZero();
        cluster.restart(follower);
        cluster.awaitHealthy(follower);
        report(String.format("(b1) etcd follower m%d killed: %d registrations acknowledged in %d ms; g2 answered "
                + "5xx or nothing to %d registrations and %d heartbeats; watchers got every one", follower, b1Acked,
            ms(b1At), reg.failed("b1 register", u2), reg.failed("b1 heartbeat", u2)));

        assertThat(reg.unexpected).isEmpty();

        // ---- (b2) the etcd leader killed ----
        leader = cluster.leader();
        assertThat(leader).isBetween(0, 2);
        reg.phase = "b2";
        int ackedB2 = reg.acked.size();
        long hbB2 = reg.hbOk.get();
        cluster.kill(leader);
        long b2At = System.nanoTime();
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> reg.acked.size() > ackedB2);
        long firstAckAfterLeader = ms(b2At);
        await().atMost(WAIT).until(() -> reg.acked.size() >= ackedB2 + 10 && ms(b2At) > 3_000);
        assertThat(reg.hbOk.get()).isGreaterThan(hbB2);
        assertThat(reg.failed("b2 heartbeat", u2)).as("heartbeats answered by g2").isZero();
        Set<String> b2Ids = new HashSet<>();
        reg.acked.values().stream().filter(a -> a.atNanos() > b2At).forEach(a -> b2Ids.add(a.id()));
        await().atMost(WAIT).until(() -> w2.view().vms().keySet().containsAll(b2Ids));
        report(String.format("(b2) etcd leader m%d killed: first registration acknowledged %d ms after, %d in %d ms; "
                + "g2 answered 5xx or nothing to %d registrations and %d heartbeats; watchers got every one", leader,
            firstAckAfterLeader, reg.acked.size() - ackedB2, ms(b2At), reg.failed("b2 register", u2),
            reg.failed("b2 heartbeat", u2)));

        assertThat(reg.unexpected).isEmpty();

        // ---- (c) quorum lost: a second member killed, one of three left ----
        int second = -1;
        for (int i = 0; i < EtcdCluster.MEMBERS && second < 0; i++) {
            if (cluster.running(i)) {
                second = i;
            }
        }
        int firstDown = leader;
        reg.phase = "c";
        long reconnects1 = w1.reconnects();
        long reconnects2 = w2.reconnects();
        cluster.kill(second);
        long cAt = System.nanoTime();
        HttpResponse<String> refused = send(HttpRequest.newBuilder(u2.resolve("/api/vms"))
            .POST(HttpRequest.BodyPublishers.ofString("{\"cores\": 1, \"instance\": \"during-outage\"}")));
        long refusedAfter = ms(cAt);
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
        String error = MAPPER.readTree(refused.body()).get("error").asText();
        assertThat(error).contains("cannot be written now").contains("reads and watches keep the last known view")
            .contains("etcd").doesNotContain("\tat ");
        assertThat(Duration.ofMillis(refusedAfter)).isLessThan(WRITE_BOUND);
        // nothing is written from here: the last known view, on reads and on the watch streams, all along
        Map<String, JsonNode> lastKnown = vmsByInstance(u2);
        int ackedAtLoss = reg.acked.size();
        long hbAtLoss = reg.hbOk.get();
        SwarmView w2AtLoss = w2.view();
        long readsDuring = 0;
        long holdFrom = System.nanoTime();
        while (System.nanoTime() - holdFrom < QUORUM_LOST_FOR.toNanos()) {
            assertThat(vmsByInstance(u2).keySet()).isEqualTo(lastKnown.keySet());
            readsDuring++;
            Thread.sleep(250);
        }
        HttpResponse<String> stillRefused = send(HttpRequest.newBuilder(u2.resolve("/api/vms"))
            .POST(HttpRequest.BodyPublishers.ofString("{\"cores\": 1, \"instance\": \"during-outage\"}")));
        assertThat(stillRefused.statusCode()).as(stillRefused.body()).isEqualTo(503);
        assertThat(reg.acked.size()).as("no registration acknowledged without quorum").isEqualTo(ackedAtLoss);
        assertThat(w2.view().vms().keySet()).as("the watch keeps the last view").isEqualTo(w2AtLoss.vms().keySet());
        assertThat(w1.reconnects()).as("the watch streams stay open").isEqualTo(reconnects1);
        assertThat(w2.reconnects()).isEqualTo(reconnects2);
        long hbDuringLoss = reg.hbOk.get() - hbAtLoss;
        long regFailedDuringLoss = reg.failed("c register");

        reg.phase = "c-back";
        long lostForMillis = ms(cAt);
        cluster.restart(firstDown);
        long backAt = System.nanoTime();
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> reg.acked.size() > ackedAtLoss);
        long firstWriteBack = ms(backAt);
        HttpResponse<String> after = send(HttpRequest.newBuilder(u2.resolve("/api/vms"))
            .POST(HttpRequest.BodyPublishers.ofString("{\"cores\": 1, \"instance\": \"during-outage\"}")));
        assertThat(after.statusCode()).as("writes work again, Genesis not restarted").isIn(200, 201);
        assertThat(g2Start.get().process().isAlive()).isTrue();
        report(String.format("(c) quorum lost (m%d and m%d down) for %d ms: first write answered 503 after %d ms "
                + "(\"%s\"); then for %d ms: %d reads served the same %d VMs, %d heartbeats answered 200, registrar refused %d times, "
                + "watch streams open (reconnects unchanged); m%d back: first acknowledged registration %d ms after "
                + "its restart", firstDown, second, lostForMillis, refusedAfter, error, QUORUM_LOST_FOR.toMillis(), readsDuring,
            lastKnown.size(), hbDuringLoss, regFailedDuringLoss, firstDown, firstWriteBack));
        cluster.restart(second);
        cluster.awaitHealthy(second);
        cluster.awaitHealthy(firstDown);

        // ---- (d) every acknowledged registration is there ----
        reg.phase = "end";
        int target = reg.acked.size() + 5;
        await().atMost(WAIT).until(() -> reg.acked.size() >= target);
        reg.close();
        assertThat(reg.unexpected).isEmpty();
        Map<String, Acked> acked = new TreeMap<>(reg.acked);
        Set<String> ackedIds = new HashSet<>();
        acked.values().forEach(a -> ackedIds.add(a.id()));
        ackedIds.add(a1.vmId());
        ackedIds.add(a2.vmId());
        Map<String, JsonNode> end = vmsByInstance(u2);
        for (Acked a : acked.values()) {
            JsonNode vm = end.get(a.instance());
            assertThat(vm).as(a.instance() + " acknowledged as " + a.id() + ": lost").isNotNull();
            assertThat(vm.get("id").asText()).isEqualTo(a.id());
            assertThat(ports(vm.get("ports"))).as(a.instance()).isEqualTo(a.ports());
            assertThat(vm.get("state").asText()).as(a.instance()).isEqualTo("active");
        }
        assertThat(end.get("mid-commit").get("id").asText()).isEqualTo(a1.vmId());
        await().atMost(WAIT).until(() -> w1.view().vms().keySet().containsAll(ackedIds)
            && w2.view().vms().keySet().containsAll(ackedIds));
        assertThat(removed(rec1)).as("watcher 1 never lost an acknowledged VM").doesNotContainAnyElementsOf(ackedIds);
        assertThat(removed(rec2)).as("watcher 2 never lost an acknowledged VM").doesNotContainAnyElementsOf(ackedIds);
        assertThat(rec1.errors).isEmpty();
        assertThat(rec2.errors).isEmpty();
        report(String.format("(d) %d registrations acknowledged (of %d requests sent; %d cut or refused), %d by "
                + "agents: all %d present on g2 with their ids and ports, active, never removed from either watch; "
                + "longest wait for one acknowledgement %d ms; heartbeats answered %d; test %d ms",
            acked.size(), reg.registrationsSent.get(), reg.failed(""), 2, ackedIds.size(),
            TimeUnit.NANOSECONDS.toMillis(reg.longestWaitNanos), reg.hbOk.get(), ms(testStart)));
        report("failures by phase: " + new TreeMap<>(reg.failures));
    }
}
