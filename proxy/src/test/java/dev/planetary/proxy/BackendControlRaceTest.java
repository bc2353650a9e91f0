package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.BackendConfig;
import dev.planetary.core.config.ConfigParser;
import dev.planetary.core.config.ConfigResult;
import dev.planetary.core.config.Origin;
import dev.planetary.core.config.ServerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Run-time changes from several threads at once: health checks follow membership exactly. */
class BackendControlRaceTest {

    private static final long WAIT_S = 30;

    private final TestBackends backends = new TestBackends();

    @AfterEach
    void tearDown() {
        backends.close();
    }

    private static ServerConfig server(String name, boolean check) {
        // port 9 (discard) is closed on loopback: a check fails, which is all right here
        return new ServerConfig(name, "127.0.0.1", 9, check, 60_000, 2, 3, 1, 0, false, false,
            new Origin("test", 0));
    }

    private ProxyBackend backend() {
        ConfigResult r = ConfigParser.parse("race.cfg", """
            backend be
                server w0 127.0.0.1:9
            """);
        assertThat(r.errors()).isEmpty();
        BackendConfig bc = r.config().backends().get(0);
        ProxyBackend pb = backends.create(bc);
        pb.attachHealth(backends.health());
        return pb;
    }

    /**
     * An add racing a whole-list swap that does not list the added server: either the server survives (and is
     * checked) or it is gone (and not checked). A check left on a server that is no longer in the backend would
     * probe it forever.
     */
    @Test
    void anAddRacingAReplaceLeavesNoCheckOnANonMember() throws Exception {
        ProxyBackend pb = backend();
        List<ServerConfig> wanted = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            wanted.add(server("w" + i, false)); // a big list: the swap takes a while
        }
        int trials = 200;
        CyclicBarrier go = new CyclicBarrier(2);
        Thread replacer = new Thread(() -> {
            try {
                for (int t = 0; t < trials; t++) {
                    go.await(WAIT_S, TimeUnit.SECONDS);
                    pb.replaceServers(wanted);
                    go.await(WAIT_S, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "replacer");
        replacer.setDaemon(true);
        replacer.start();
        int survived = 0;
        for (int t = 0; t < trials; t++) {
            go.await(WAIT_S, TimeUnit.SECONDS);
            pb.addServer(server("x" + t, true));
            go.await(WAIT_S, TimeUnit.SECONDS);
            if (pb.backend().server("x" + t).isPresent()) {
                survived++;
                pb.removeServer("x" + t);
            }
        }
        replacer.join(TimeUnit.SECONDS.toMillis(WAIT_S));
        assertThat(backends.health().watched())
            .as("checks left on servers no longer in the backend (%d of %d adds survived their swap)", survived,
                trials)
            .isZero();
    }
}
