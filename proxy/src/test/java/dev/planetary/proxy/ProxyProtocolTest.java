package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Backends.TestServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Procs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * PROXY protocol over real sockets, against the real peer: HAProxy 2.6 sending version 2 into Planetary's
 * {@code accept-proxy} bind, and Planetary's {@code send-proxy} / {@code send-proxy-v2} into HAProxy's
 * {@code accept-proxy} bind, where HAProxy itself decides on the address it read (a {@code use_backend} on
 * {@code src}, and its log line).
 */
class ProxyProtocolTest {

    private static final String DEFAULTS = """
        defaults
            mode tcp
            timeout connect 2s
            timeout client 30s
            timeout server 30s
        """;

    @TempDir
    Path dir;

    private final Backends backends = new Backends();
    private final List<Proxy> proxies = new ArrayList<>();
    private final List<Procs.Running> haproxies = new ArrayList<>();

    @AfterEach
    void tearDown() {
        haproxies.forEach(h -> Procs.kill(h.process()));
        proxies.forEach(Proxy::close);
        backends.close();
    }

    private Proxy planetary(String config) {
        Proxy p = Harness.start(config);
        proxies.add(p);
        return p;
    }

    /** Starts {@code haproxy -db} on a config; returns once it accepts on {@code port}. */
    private Procs.Running haproxy(String config, int port) throws IOException {
        Path cfg = Files.createTempFile(dir, "haproxy", ".cfg");
        Files.writeString(cfg, config);
        Procs.Running h = Procs.start(dir, null, List.of("haproxy", "-db", "-f", cfg.toString()));
        haproxies.add(h);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            assertThat(h.process().isAlive()).as("haproxy runs: %s", h.output()).isTrue();
            return !Ports.free(port);
        });
        return h;
    }

    private static String greeting(String source, int port) throws IOException {
        try (Socket s = Harness.connectFrom(source, port)) {
            return Harness.readLine(s);
        }
    }

    @Test
    void haproxySendsV2AndBalanceSourceUsesTheAddressItCarries() throws Exception {
        TestServer a = backends.greeter("a");
        TestServer b = backends.greeter("b");
        int pl = Ports.pcpu();
        int plain = Ports.pcpu();
        int ha = Ports.pcpu();
        Proxy p = planetary(DEFAULTS + """
            backend two
                balance source
                server a 127.0.0.1:%d
                server b 127.0.0.1:%d
            frontend proxied
                bind 127.0.0.1:%d accept-proxy
                default_backend two
            frontend direct
                bind 127.0.0.1:%d
                default_backend two
            """.formatted(a.port(), b.port(), pl, plain));
        haproxy(DEFAULTS + """
            listen h
                bind 127.0.0.1:%d
                server planetary 127.0.0.1:%d send-proxy-v2
            """.formatted(ha, pl), ha);

        // Through HAProxy each client keeps its own address: each source always reaches the same server, as it does
        // when it connects to Planetary directly, and the sources spread over both servers.
        Map<String, String> viaHaproxy = new HashMap<>();
        for (int i = 10; i < 40; i++) {
            String src = "127.0.0." + i;
            String first = greeting(src, ha);
            assertThat(greeting(src, ha)).as("same server again for %s", src).isEqualTo(first);
            assertThat(greeting(src, plain)).as("as %s connecting directly", src).isEqualTo(first);
            viaHaproxy.put(src, first);
        }
        assertThat(new HashSet<>(viaHaproxy.values())).containsExactlyInAnyOrder("a", "b");
        assertThat(p.frontend("proxied").badProxyHeaderCount()).isZero();
        assertThat(p.frontend("proxied").acceptedCount()).isEqualTo(60);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"send-proxy", "send-proxy-v2"})
    void planetarySendsTheClientsAddressToHaproxy(String sendProxy) throws Exception {
        TestServer seen = backends.greeter("seen");
        TestServer other = backends.greeter("other");
        int hb = Ports.pcpu();
        Procs.Running h = haproxy("""
            global
                log stdout format raw local0
            %s
                log global
            frontend accept
                bind 127.0.0.1:%d accept-proxy
                log-format "addr=%%ci:%%cp dst=%%fi:%%fp"
                tcp-request content accept
                use_backend seen if { src 127.0.0.9 }
                default_backend other
            backend seen
                server s 127.0.0.1:%d
            backend other
                server s 127.0.0.1:%d
            """.formatted(DEFAULTS, hb, seen.port(), other.port()), hb);
        int pl = Ports.pcpu();
        int proxied = Ports.pcpu();
        int ha = Ports.pcpu();
        Proxy p = planetary(DEFAULTS + """
            backend haproxy
                server hb 127.0.0.1:%d %s check inter 500ms
            frontend direct
                bind 127.0.0.1:%d
                default_backend haproxy
            frontend proxied
                bind 127.0.0.1:%d accept-proxy
                default_backend haproxy
            """.formatted(hb, sendProxy, pl, proxied));
        // a front HAProxy sending v2 to Planetary: the address goes through two hops
        haproxy(DEFAULTS + """
            listen front
                bind 127.0.0.1:%d
                server planetary 127.0.0.1:%d send-proxy-v2
            """.formatted(ha, proxied), ha);

        for (int port : new int[] {pl, ha}) {
            try (Socket s = Harness.connectFrom("127.0.0.9", port)) {
                assertThat(Harness.readLine(s)).as("HAProxy's use_backend on src").isEqualTo("seen");
                int clientPort = s.getLocalPort();
                String line = "addr=127.0.0.9:" + clientPort + " dst=127.0.0.1:" + port;
                s.close();
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(h.stdout()).as("HAProxy's log line").contains(line));
            }
            assertThat(greeting("127.0.0.10", port)).isEqualTo("other");
        }
        // health checks send a header too, as HAProxy's do: the server stays up, HAProxy logs no bad header
        assertThat(p.backend("haproxy").servers()).allMatch(dev.planetary.core.backend.Server::up);
        assertThat(p.frontend("proxied").badProxyHeaderCount()).isZero();
    }

    /** Header and data in one segment, or byte by byte, through to an echo server: every byte back, in order. */
    @ParameterizedTest(name = "write size {0}")
    @ValueSource(ints = {0, 1, 7})
    void firstBytesAfterTheHeaderAreKeptInOrder(int writeSize) throws Exception {
        TestServer echo = backends.echo("echo");
        int pl = Ports.pcpu();
        Proxy p = planetary(DEFAULTS + """
            listen l
                bind 127.0.0.1:%d accept-proxy
                server e 127.0.0.1:%d
            """.formatted(pl, echo.port()));
        byte[] header = "PROXY TCP4 192.0.2.1 192.0.2.2 1000 2000\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] data = new byte[4096];
        new Random(writeSize).nextBytes(data);
        byte[] all = EmbeddedAcceptProxy.concat(header, data);
        try (Socket s = Harness.connect(pl)) {
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            if (writeSize == 0) {
                out.write(all); // one write: header and data in one segment
            } else {
                for (int i = 0; i < all.length; i += writeSize) {
                    out.write(all, i, Math.min(writeSize, all.length - i));
                    out.flush();
                }
            }
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
        assertThat(p.frontend("l").badProxyHeaderCount()).isZero();
    }

    @Test
    void missingOrMalformedHeaderClosesAndCounts() throws Exception {
        TestServer echo = backends.echo("echo");
        int pl = Ports.pcpu();
        Proxy p = planetary("""
            defaults
                mode tcp
                timeout connect 2s
                timeout client 300ms
                timeout server 30s
            listen l
                bind 127.0.0.1:%d accept-proxy
                server e 127.0.0.1:%d
            """.formatted(pl, echo.port()));
        Frontend f = p.frontend("l");
        String[] bad = {"GET / HTTP/1.0\r\n\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\nhello",
            "PROXY " + "x".repeat(120) + "\r\n"};
        for (int i = 0; i < bad.length; i++) {
            try (Socket s = Harness.connect(pl)) {
                Harness.write(s, bad[i]);
                assertThat(s.getInputStream().read()).as("closed: %s", bad[i]).isEqualTo(-1);
            }
            long expected = i + 1;
            await().atMost(Duration.ofSeconds(5)).until(() -> f.badProxyHeaderCount() == expected);
        }
        // nothing at all within timeout client (300 ms here)
        try (Socket s = Harness.connect(pl)) {
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> f.badProxyHeaderCount() == 4);
        assertThat(echo.accepted.get()).as("no connection reached the server").isZero();
        assertThat(f.acceptedCount()).isZero();
        assertThat(p.activeConnections()).isZero();
        // and a good one still works
        try (Socket s = Harness.connect(pl)) {
            Harness.write(s, "PROXY UNKNOWN\r\nping\n");
            assertThat(Harness.readLine(s)).isEqualTo("ping");
        }
        assertThat(f.badProxyHeaderCount()).isEqualTo(4);
    }
}
