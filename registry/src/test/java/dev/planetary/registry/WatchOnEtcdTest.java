package dev.planetary.registry;

import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.EtcdForClass;
import dev.planetary.registry.testing.Node;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link WatchTest}'s tests with the state on etcd: the hub fed from etcd, resumes from etcd's kept records. */
class WatchOnEtcdTest extends WatchTest {

    @RegisterExtension
    static final EtcdForClass ETCD = new EtcdForClass();

    @Override
    Node startNode(Path data) {
        return Node.startOnEtcd(data, ETCD.target(data), Clock.system(), Settings.defaults(), false);
    }

    @Override
    Node startNode(Path data, java.time.Duration catchUp) {
        return Node.start(data, ETCD.target(data), catchUp);
    }
}
