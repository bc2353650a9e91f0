package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.ConfigParser;
import dev.planetary.core.config.ConfigResult;
import dev.planetary.proxy.testing.Ports;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Socket;
import io.netty.util.concurrent.Future;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;

/** The epoll listen pass: each socket listens on its own planned port, a failure stays that socket's, close frees them. */
class ListenPassTest {

    private static final int PORTS = 11;

    @BeforeAll
    static void epoll() {
        Assumptions.assumeTrue(Epoll.isAvailable(), "native epoll is not available here"); // and loads it
    }

    @Test
    void everySocketListensOnItsOwnPortAndABusyPortFailsAlone() throws Exception {
        int low = Ports.pcpuRun(PORTS);
        ConfigResult r = config(low, PORTS);
        assertThat(r.errors()).isEmpty();
        List<Proxy.Listen> plan = Proxy.listenPlan(r.config(), 1, Transport.EPOLL, e -> true);
        assertThat(plan).hasSize(PORTS);
        int busy = low + 9; // not the last: the sockets after it still listen
        Future<?>[] out;
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", busy));
            out = Proxy.listenAll(plan);
        }
        try {
            for (int i = 0; i < PORTS; i++) {
                int port = plan.get(i).addr().getPort();
                if (port == busy) {
                    assertThat(out[i].isSuccess()).as("port %d is taken", port).isFalse();
                    assertThat(out[i].cause()).isInstanceOf(IOException.class).hasMessageStartingWith("bind(");
                    continue;
                }
                assertThat(out[i].isSuccess()).as("port %d: %s", port, out[i].cause()).isTrue();
                int fd = (Integer) out[i].getNow();
                assertThat(((InetSocketAddress) new Socket(fd).localAddress()).getPort()).as("the socket of entry %d", i)
                    .isEqualTo(port);
                try (java.net.Socket c = new java.net.Socket()) { // listening: the kernel completes the handshake
                    c.connect(new InetSocketAddress("127.0.0.1", port), 2_000); // refused (throws) if not
                }
            }
        } finally {
            Proxy.closeAll(out);
        }
    }

    @Test
    void closedAfterwardsThePortsAreFreeAgain() throws IOException {
        int low = Ports.pcpuRun(3);
        ConfigResult r = config(low, 3);
        List<Proxy.Listen> plan = Proxy.listenPlan(r.config(), 1, Transport.EPOLL, e -> true);
        Future<?>[] out = Proxy.listenAll(plan);
        for (int p = low; p <= low + 2; p++) {
            assertThat(out[p - low].isSuccess()).as("port %d: %s", p, out[p - low].cause()).isTrue();
            assertThat(Ports.free(p)).as("port %d is taken while listening", p).isFalse();
        }
        Proxy.closeAll(out);
        for (int p = low; p <= low + 2; p++) {
            assertThat(Ports.free(p)).as("port %d", p).isTrue();
        }
    }

    /** One frontend on 127.0.0.1, ports low..low+count-1. */
    private static ConfigResult config(int low, int count) {
        return ConfigParser.parse("listen.cfg", """
            frontend f
              mode tcp
              bind 127.0.0.1:%d-%d
              default_backend b
            backend b
              mode tcp
              server s 127.0.0.1:1
            """.formatted(low, low + count - 1));
    }
}
