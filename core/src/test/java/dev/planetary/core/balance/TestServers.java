package dev.planetary.core.balance;

import dev.planetary.core.backend.Server;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/** Real Server objects for balancer tests. */
final class TestServers {

    private TestServers() {
    }

    static Server server(String name, int weight) {
        return server(name, weight, 0);
    }

    static Server server(String name, int weight, int maxconn) {
        return new Server(name, InetSocketAddress.createUnresolved("10.0.0.1", 8000), weight, maxconn, false, true,
                Server.Admin.READY);
    }

    static List<Server> servers(int count, int weight) {
        List<Server> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(server("s" + i, weight));
        }
        return out;
    }
}
