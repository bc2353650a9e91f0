package dev.planetary.registry.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.planetary.registry.testing.Node;
import dev.planetary.registry.testing.SseClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local store's history id, sent as {@code Genesis-History} on the watch stream: kept across restarts of one
 * data dir, different for another data dir (an independent Genesis at the same version must not look resumable).
 */
class HistoryIdTest {

    @TempDir
    Path dir;

    @Test
    void keptAcrossRestartsAndDifferentForAnotherDataDir() throws Exception {
        String first;
        try (Node n = Node.start(dir.resolve("one"))) {
            first = history(n);
        }
        assertThat(first).matches("[0-9a-f]{32}");
        try (Node n = Node.start(dir.resolve("one"))) {
            assertThat(history(n)).isEqualTo(first);
        }
        try (Node other = Node.start(dir.resolve("two"))) {
            assertThat(history(other)).matches("[0-9a-f]{32}").isNotEqualTo(first);
        }
    }

    @Test
    void aDamagedHistoryFileRefusesTheStartNamingIt() throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(Store.HISTORY_FILE), "not-an-id\n");
        try (Store s = Store.open(dir)) {
            assertThatThrownBy(s::historyId).isInstanceOf(IOException.class)
                .hasMessageContaining(dir.resolve(Store.HISTORY_FILE).toString())
                .hasMessageContaining("not a history id");
        }
    }

    private static String history(Node n) throws Exception {
        try (SseClient c = new SseClient(n.http, n.base() + "/api/watch")) {
            assertThat(c.status).isEqualTo(200);
            return c.history;
        }
    }
}
