package dev.planetary.registry.testing;

import dev.planetary.registry.etcd.EtcdTarget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One etcd for a whole test class (starting one per test would cost a second each), in its own temporary directory,
 * stopped by PID after the class: {@code @RegisterExtension static final EtcdForClass ETCD = new EtcdForClass();}.
 * Each test's registry lives under its own key prefix ({@link #target}), so no two tests share state.
 */
public final class EtcdForClass implements BeforeAllCallback, AfterAllCallback {

    private Path dir;
    private EtcdProcess etcd;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        dir = Files.createTempDirectory("planetary-etcd-");
        etcd = EtcdProcess.start(dir.resolve("etcd"));
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        if (etcd != null) {
            etcd.close();
        }
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    /** The running member. */
    public EtcdProcess process() {
        return etcd;
    }

    /**
     * The target of the registry whose (local) data dir would be {@code data}: its prefix is named after that dir, so
     * a registry restarted on the same dir finds its state, and each test's temporary dir gives it a registry of its own.
     */
    public EtcdTarget target(Path data) {
        return new EtcdTarget(etcd.endpoints(), "/test" + data.toAbsolutePath() + "/");
    }
}
