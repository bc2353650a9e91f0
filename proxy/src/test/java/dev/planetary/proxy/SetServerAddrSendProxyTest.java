package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.StatsSocketConfig;
import dev.planetary.proxy.stats.RuntimeApi;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code set server B/S addr} moves a server to another address and nothing else: a {@code send-proxy} server keeps
 * sending the PROXY header from its new address (review finding 7: the move made it a server without one).
 */
@Timeout(60)
class SetServerAddrSendProxyTest {

    private Proxy proxy;

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
    }

    @Test
    void aSendProxyServerMovedBySetServerAddrStillSendsTheHeader() throws Exception {
        InetAddress lo = InetAddress.getByName("127.0.0.1");
        try (ServerSocket before = new ServerSocket(0, 8, lo); ServerSocket after = new ServerSocket(0, 8, lo)) {
            after.setSoTimeout(10_000);
            int port = Ports.pcpu();
            proxy = Harness.start("""
                defaults
                    mode tcp
                    timeout connect 2s
                    timeout client 30s
                    timeout server 30s
                listen be
                    bind 127.0.0.1:%d
                    server s1 127.0.0.1:%d send-proxy
                """.formatted(port, before.getLocalPort()));
            String answer = new RuntimeApi(proxy).runLine("set server be/s1 addr 127.0.0.1 port "
                + after.getLocalPort(), new RuntimeApi.Session(StatsSocketConfig.Level.ADMIN));
            assertThat(proxy.backend("be").backend().server("s1").orElseThrow().port())
                .as("moved (%s)", answer).isEqualTo(after.getLocalPort());

            try (Socket client = Harness.connect(port)) {
                Harness.write(client, "hello\n");
                try (Socket server = after.accept()) {
                    BufferedReader in = new BufferedReader(
                        new InputStreamReader(server.getInputStream(), StandardCharsets.US_ASCII));
                    assertThat(in.readLine()).as("the PROXY header first")
                        .startsWith("PROXY TCP4 127.0.0.1 127.0.0.1 " + client.getLocalPort() + " " + port);
                    assertThat(in.readLine()).isEqualTo("hello");
                }
            }
        }
    }
}
