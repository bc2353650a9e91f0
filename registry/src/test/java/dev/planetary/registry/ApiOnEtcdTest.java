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

/** {@link ApiTest}'s tests with the state on etcd ({@code --store etcd}): one etcd for the class. */
class ApiOnEtcdTest extends ApiTest {

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
    Node startNode(Path data, Clock clock, Settings settings, boolean allowDeclaredIp) {
        return Node.startOnEtcd(data, EtcdForClass.target(etcd, data), clock, settings, allowDeclaredIp);
    }
}
