package dev.planetary.registry;

import dev.planetary.registry.state.Clock;
import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.EtcdForClass;
import dev.planetary.registry.testing.Node;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link ApiTest}'s tests with the state on etcd ({@code --store etcd}): one etcd for the class. */
class ApiOnEtcdTest extends ApiTest {

    @RegisterExtension
    static final EtcdForClass ETCD = new EtcdForClass();

    @Override
    Node startNode(Path data, Clock clock, Settings settings, boolean allowDeclaredIp) {
        return Node.startOnEtcd(data, ETCD.target(data), clock, settings, allowDeclaredIp);
    }
}
