package dev.planetary.proxy.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Procs;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connection log of a running proxy, received by socat as a UDP syslog server: one tcplog line per connection,
 * with the server, the times, the bytes and the termination state of what really happened.
 */
class ConnectionLogProxyTest {

    @TempDir
    Path dir;

    @Test
    void oneTcplogLinePerConnectionToSocat() throws Exception {
        int syslog = Ports.pcpu();
        Path received = dir.resolve("syslog.txt");
        Procs.Running socat = Procs.start(dir, null, List.of("socat", "-u", "UDP-RECV:" + syslog + ",bind=127.0.0.1",
            "OPEN:" + received + ",creat,append"));
        try (Backends backends = new Backends()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> bound(syslog));
            Backends.TestServer s1 = backends.named("s1");
            int front = Ports.pcpu();
            int refused = Ports.pcpu();
            int dead = Ports.pcpu();
            int quiet = Ports.pcpu();
            int full = Ports.pcpu();
            Proxy proxy = Harness.start("""
                global
                    log 127.0.0.1:%d local0 info
                defaults
                    mode tcp
                    log global
                    option tcplog
                    timeout connect 2s
                    timeout client 30s
                    timeout server 30s
                    retries 2
                listen pcpu
                    bind 127.0.0.1:%d
                    server s1 127.0.0.1:%d
                listen gone
                    bind 127.0.0.1:%d
                    server s2 127.0.0.1:%d
                listen quiet
                    bind 127.0.0.1:%d
                    no log
                    server s1 127.0.0.1:%d
                listen full
                    bind 127.0.0.1:%d
                    timeout queue 300ms
                    server s1 127.0.0.1:%d maxconn 1
                """.formatted(syslog, front, s1.port(), refused, dead, quiet, s1.port(), full, s1.port()));
            try {
                try (Socket c = Harness.connect(front)) {
                    assertThat(Harness.readLine(c)).isEqualTo("s1");
                }
                try (Socket c = Harness.connect(refused)) {
                    assertThat(Harness.readLine(c)).as("closed: its server refuses").isNull();
                }
                try (Socket c = Harness.connect(quiet)) {
                    assertThat(Harness.readLine(c)).isEqualTo("s1");
                }
                try (Socket holder = Harness.connect(full)) {
                    assertThat(Harness.readLine(holder)).isEqualTo("s1"); // holds the one slot from now on
                    try (Socket waiter = Harness.connect(full)) {
                        assertThat(Harness.readLine(waiter)).as("closed after 300 ms in the queue").isNull();
                    }
                }
                await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(received)
                    && Files.readAllLines(received).size() >= 4);
                List<String> lines = Files.readAllLines(received);
                String header = "<134>[A-Z][a-z]{2} [ 0-9]\\d \\d\\d:\\d\\d:\\d\\d planetary\\[\\d+\\]: ";
                String client = "127\\.0\\.0\\.1:\\d+ \\[\\d\\d/[A-Z][a-z]{2}/\\d{4}:\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\] ";
                assertThat(lines).anySatisfy(l -> assertThat(l).matches(header + client
                    + "pcpu pcpu/s1 0/\\d+/\\d+ 3 -- \\d+/\\d+/\\d+/\\d+/0 0/0"));
                assertThat(lines).anySatisfy(l -> assertThat(l).matches(header + client
                    + "gone gone/s2 0/-1/\\d+ 0 SC \\d+/\\d+/\\d+/0/2 0/0"));
                assertThat(lines).as("'no log' in quiet").noneMatch(l -> l.contains(" quiet "));
                assertThat(lines).anySatisfy(l -> assertThat(l).matches(header + client
                    + "full full/<NOSRV> \\d+/-1/\\d+ 0 sQ \\d+/\\d+/\\d+/0/0 0/[01]"));
                assertThat(lines).anySatisfy(l -> assertThat(l).matches(header + client
                    + "full full/s1 0/\\d+/\\d+ 3 -- \\d+/\\d+/\\d+/\\d+/0 0/0"));
                assertThat(proxy.connectionLog().dropped()).isZero();
            } finally {
                proxy.close();
            }
            assertThat(Files.readAllLines(received)).hasSize(4);
        } finally {
            Procs.kill(socat.process());
        }
    }

    private static boolean bound(int port) {
        try (DatagramSocket s = new DatagramSocket(null)) {
            s.bind(new InetSocketAddress("127.0.0.1", port));
            return false;
        } catch (java.io.IOException e) {
            return true;
        }
    }
}
