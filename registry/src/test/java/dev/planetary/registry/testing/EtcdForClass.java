package dev.planetary.registry.testing;

import dev.planetary.registry.etcd.EtcdTarget;
import java.nio.file.Path;

/**
 * One etcd for a whole test class (starting one per test would cost a second each): each test's registry lives
 * under its own key prefix, named after the test's data dir, so a registry restarted on the same dir finds its
 * state and no two tests share one.
 */
public final class EtcdForClass {

    private EtcdForClass() {
    }

    /** The target of the registry whose (local) data dir would be {@code data}. */
    public static EtcdTarget target(EtcdProcess etcd, Path data) {
        return new EtcdTarget(etcd.endpoints(), "/test" + data.toAbsolutePath().toString().replace('\\', '/') + "/");
    }
}
