package dev.planetary.registry;

import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.EtcdForClass;
import dev.planetary.registry.testing.EtcdProcess;
import dev.planetary.registry.testing.Node;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** {@link WatchTest}'s tests with the state on etcd: the hub fed from etcd, resumes from etcd's kept records. */
class WatchOnEtcdTest extends WatchTest {

    @TempDir
    static Path etcdDir;
    static EtcdProcess etcd;

    @BeforeAll
    static void startEtcd() throws Exception {
        etcd = EtcdProcess.start(etcdDir.resolve("etcd"));
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) {
            etcd.close();
        }
    }

    @Override
    Node startNode(Path data) {
        return Node.startOnEtcd(data, EtcdForClass.target(etcd, data), Clock.system(), Settings.defaults(), false);
    }
}
