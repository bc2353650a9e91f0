package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.testing.Node;
import dev.planetary.testkit.Procs;
import dev.planetary.registry.testing.SseClient;
import dev.planetary.registry.testing.SseClient.Event;
import dev.planetary.registry.http.ApiHandler;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The watch stream: snapshot, one event per change with strictly increasing versions, resume, keep-alive; on the
 * local store ({@link WatchOnEtcdTest}: the same tests on etcd).
 */
class WatchTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    Node node;
    final List<SseClient> clients = new ArrayList<>();

    @BeforeEach
    void start() {
        node = startNode(dir.resolve("data"));
    }

    /** A registry on the data dir {@code data}: the local store here, etcd in {@link WatchOnEtcdTest}. */
    Node startNode(Path data) {
        return Node.start(data);
    }

    /** The same with a watch resume's catch-up wait of {@code catchUp}. */
    Node startNode(Path data, Duration catchUp) {
        return Node.start(data, null, catchUp);
    }

    /**
     * The catch-up wait of the test that reaches the version while parked: from the park to the registration's
     * publish is an Awaitility poll plus an HTTP registration (an fsync, or an etcd commit), which on a loaded 2-core
     * machine is usually far under the default 2 s but not bounded by it.
     */
    private static final Duration GENEROUS_CATCH_UP = Duration.ofSeconds(15);

    @AfterEach
    void stop() {
        clients.forEach(SseClient::close);
        node.close();
    }

    private SseClient watch(String query) throws Exception {
        SseClient c = new SseClient(node.http, node.base() + "/api/watch" + query);
        clients.add(c);
        assertThat(c.status).isEqualTo(200);
        return c;
    }

    @Test
    void snapshotThenEveryChangeInOrder() throws Exception {
        String first = node.register("{\"cores\": 2, \"instance\": \"a\"}").json().get("id").asText();
        SseClient w = watch("");
        Event snap = w.next(WAIT);
        assertThat(snap.type()).isEqualTo("snapshot");
        assertThat(snap.version()).isEqualTo(1);
        assertThat(snap.data().get("vms")).hasSize(1);

        String second = node.register("{\"cores\": 3}").json().get("id").asText();
        node.register("{\"cores\": 5, \"instance\": \"a\"}");
        node.send("DELETE", "/api/vms/" + second, null, node.secret(second));
        Event added = w.next(WAIT);
        Event updated = w.next(WAIT);
        Event draining = w.next(WAIT);
        assertThat(added.type()).isEqualTo("added");
        assertThat(added.data().at("/vm/id").asText()).isEqualTo(second);
        assertThat(updated.type()).isEqualTo("updated");
        assertThat(updated.data().at("/vm/cores").intValue()).isEqualTo(5);
        assertThat(updated.data().at("/vm/id").asText()).isEqualTo(first);
        assertThat(draining.type()).isEqualTo("draining");
        assertThat(List.of(added.version(), updated.version(), draining.version())).containsExactly(2L, 3L, 4L);
        assertThat(draining.data().get("version").longValue()).isEqualTo(4);
    }

    @Test
    void resumeSinceRetainedVersionGetsOnlyLaterChangesAndTooOldOrFutureGetsASnapshot() throws Exception {
        for (int i = 0; i < 5; i++) {
            node.register("{\"cores\": 1}");
        }
        SseClient resumed = watch("?since=3");
        Event a = resumed.next(WAIT);
        Event b = resumed.next(WAIT);
        assertThat(a.type()).isEqualTo("added");
        assertThat(a.version()).isEqualTo(4);
        assertThat(b.version()).isEqualTo(5);
        node.register("{\"cores\": 1}");
        assertThat(resumed.next(WAIT).version()).isEqualTo(6);

        SseClient current = watch("?since=6");
        node.register("{\"cores\": 1}");
        assertThat(current.next(WAIT).version()).as("nothing replayed, then the live change").isEqualTo(7);

        SseClient future = watch("?since=999");
        assertThat(future.next(WAIT).type()).isEqualTo("snapshot");
    }

    @Test
    void resumeAfterRestartReplaysTheLogAndVersionsContinue() throws Exception {
        for (int i = 0; i < 3; i++) {
            node.register("{\"cores\": 1}");
        }
        node.close();
        node = startNode(dir.resolve("data"));
        SseClient w = watch("?since=1");
        assertThat(w.next(WAIT).version()).isEqualTo(2);
        assertThat(w.next(WAIT).version()).isEqualTo(3);
        node.register("{\"cores\": 1}");
        Event e = w.next(WAIT);
        assertThat(e.version()).isEqualTo(4);
    }

    @Test
    void hundredSubscribersEachGetEveryEvent() throws Exception {
        List<SseClient> subs = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            SseClient s = watch("");
            subs.add(s);
        }
        for (SseClient s : subs) {
            assertThat(s.next(WAIT).type()).isEqualTo("snapshot");
        }
        for (int i = 0; i < 20; i++) {
            assertThat(node.register("{\"cores\": 1}").status()).isEqualTo(201);
        }
        for (SseClient s : subs) {
            for (int v = 1; v <= 20; v++) {
                assertThat(s.next(WAIT).version()).isEqualTo(v);
            }
        }
        assertThat(node.get("/api/health").json().get("watchers").intValue()).isEqualTo(100);
    }

    @Test
    void keepAliveCommentAndCurlSeesItLive() throws Exception {
        SseClient w = watch("");
        w.next(WAIT);
        assertThat(w.comments.poll(15, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(": keep-alive");

        Path out = dir.resolve("curl.out");
        Procs.Running curl = Procs.start(dir, null, List.of("curl", "-sS", "-N", "--max-time", "60",
            node.base() + "/api/watch"));
        try {
            await().atMost(WAIT).until(() -> Procs.read(curl.stdoutFile()).contains("event: snapshot"));
            String id = node.register("{\"cores\": 9}").json().get("id").asText();
            await().atMost(WAIT).until(() -> Procs.read(curl.stdoutFile()).contains("event: added"));
            assertThat(Procs.read(curl.stdoutFile())).contains(id).contains("id: 1");
        } finally {
            Procs.kill(curl.process());
        }
        assertThat(out).doesNotExist();
    }

    /**
     * Review #6: a resume from a version this instance has not reached, naming its own history (a client whose view
     * came from another instance of the same store), waits for it instead of answering an older snapshot, then goes
     * on as a resume.
     */
    @Test
    void aResumeAheadOnThisHistoryWaitsForTheVersionInsteadOfAnOlderSnapshot() throws Exception {
        node.close();
        node = startNode(dir.resolve("data-generous"), GENEROUS_CATCH_UP);
        long v0 = node.version();
        String history = node.genesis.historyId();
        CompletableFuture<SseClient> ahead = CompletableFuture.supplyAsync(() -> {
            try {
                return new SseClient(node.http, node.base() + "/api/watch?since=" + (v0 + 1), "Genesis-History",
                    history);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await().atMost(WAIT).until(() -> node.genesis.hub().parked() == 1);
        assertThat(ahead).as("no answer while behind").isNotDone();
        assertThat(node.register("{\"cores\": 1}").json().get("version").longValue()).isEqualTo(v0 + 1);
        SseClient w = ahead.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        clients.add(w);
        assertThat(w.status).isEqualTo(200);
        long next = node.register("{\"cores\": 1}").json().get("version").longValue();
        Event e = w.next(WAIT);
        assertThat(e.type()).as("a resume from since, never a snapshot").isEqualTo("added");
        assertThat(e.version()).isEqualTo(next).isEqualTo(v0 + 2);
        assertThat(node.genesis.hub().parked()).isZero();
    }

    /** The same, when the version is not reached within the bound: 503, retryable, saying why; no snapshot. */
    @Test
    void aResumeAheadOnThisHistoryNotReachedAnswers503() throws Exception {
        long v0 = node.version();
        long sent = System.nanoTime();
        HttpResponse<String> r = node.http.send(HttpRequest.newBuilder(URI.create(node.base() + "/api/watch?since="
            + (v0 + 5))).header("Genesis-History", node.genesis.historyId()).GET().build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).contains("behind since=" + (v0 + 5)).contains("retry shortly");
        assertThat(System.nanoTime() - sent).as("it waited for the version first")
            .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(ApiHandler.CATCH_UP_MILLIS));
        assertThat(node.genesis.hub().parked()).isZero();
        // another history's since (or none named) is no resume here: a snapshot, at once
        SseClient other = new SseClient(node.http, node.base() + "/api/watch?since=" + (v0 + 5), "Genesis-History",
            "another-history");
        clients.add(other);
        assertThat(other.status).isEqualTo(200);
        assertThat(other.next(WAIT).type()).isEqualTo("snapshot");
    }
}
