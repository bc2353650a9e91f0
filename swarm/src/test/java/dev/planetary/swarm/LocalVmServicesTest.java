package dev.planetary.swarm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.registry.client.AgentOptions;
import dev.planetary.testkit.Procs;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * One local VM's services on its own loopback address, driven by real clients (nc, curl, the JDK's WebSocket client),
 * without Genesis: its agent keeps retrying against a closed port, so the VM answers with its instance key.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LocalVmServicesTest {

    /** 127.0.197.x: far above the addresses a local swarm of up to 2,000 VMs uses (127.0.1.1 - 127.0.9.x). */
    private static final int INDEX = 49_000;
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    private EventLoopGroup group;
    private LocalVm vm;
    private final Traffic traffic = new Traffic();

    @BeforeAll
    void start() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        vm = new LocalVm(INDEX);
        vm.start(group, EpollServerSocketChannel.class, traffic, AgentOptions.builder()
            .genesis(URI.create("http://127.0.0.1:1")).token("no-genesis-here-0123456789").cores(1), null);
    }

    @AfterAll
    void stop() {
        vm.kill();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
    }

    private Procs.Result sh(String command) throws Exception {
        return Procs.run(Files.createDirectories(dir.resolve("procs")), null, WAIT, List.of("bash", "-c", command));
    }

    @Test
    void addressesAreOnePerVmIn127Slash8AndNeverThe127Dot0Dot0Net() {
        assertThat(LocalVm.addressOf(0).getHostAddress()).isEqualTo("127.0.1.1");
        assertThat(LocalVm.addressOf(249).getHostAddress()).isEqualTo("127.0.1.250");
        assertThat(LocalVm.addressOf(250).getHostAddress()).isEqualTo("127.0.2.1");
        assertThat(LocalVm.addressOf(1_998).getHostAddress()).isEqualTo("127.0.8.249");
        assertThat(LocalVm.instanceName(0)).isEqualTo("vm-0001");
        assertThat(LocalVm.indexOf("vm-1000")).isEqualTo(999);
        assertThat(LocalVm.indexOf("../x")).isEqualTo(-1);
    }

    @Test
    void pcpuAnswersEachLineWithTheVmAndTheLinesHashAndClosesOnHalfClose() throws Exception {
        Procs.Result r = sh("printf 'hello\\nworld\\n' | nc -N " + vm.address() + " 7000");
        assertThat(r.code()).as("%s", r).isZero();
        String h1 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
            .digest("hello".getBytes(StandardCharsets.US_ASCII)), 0, 8);
        String h2 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
            .digest("world".getBytes(StandardCharsets.US_ASCII)), 0, 8);
        assertThat(r.out()).isEqualTo("vm-49001 vm-49001 127.0.197.1 sha256=" + h1 + "\n"
            + "vm-49001 vm-49001 127.0.197.1 sha256=" + h2 + "\n");
        assertThat(r.millis()).as("returns at the half-close, not at a timeout").isLessThan(10_000);
    }

    @Test
    void transferCountsEveryByteOfAnUpload() throws Exception {
        Procs.Result r = sh("head -c 12345678 /dev/urandom | nc -N " + vm.address() + " 7100");
        assertThat(r.code()).as("%s", r).isZero();
        assertThat(r.out()).isEqualTo("vm-49001 received 12345678 bytes\n");
    }

    @Test
    void wsServesThePageOnGetAndNotFoundElsewhere() throws Exception {
        Procs.Result page = sh("curl -s -D - http://" + vm.address() + ":8080/");
        assertThat(page.out()).startsWith("HTTP/1.1 200 OK").contains("X-Planetary-Vm: vm-49001")
            .contains("<title>Planetary: WebSocket through the proxy</title>").contains("vm-49001")
            .doesNotContain("{{VM}}");
        assertThat(sh("curl -s -o /dev/null -w '%{http_code}' http://" + vm.address() + ":8080/x").out())
            .isEqualTo("404");
    }

    @Test
    void everyServiceClosesWhenTheClientHalfClosesWithoutSayingAnything() throws Exception {
        // what the proxy's TCP health checks do: connect, then close; no socket may stay in CLOSE-WAIT
        long before = traffic.connections();
        for (int port : new int[] {LocalVm.PCPU_PORT, LocalVm.TRANSFER_PORT, LocalVm.WS_PORT}) {
            Procs.Result r = sh("nc -N " + vm.address() + " " + port + " </dev/null");
            assertThat(r.code()).as("port %d: %s", port, r).isZero();
            assertThat(r.millis()).as("port %d closed at the half-close", port).isLessThan(10_000);
        }
        org.awaitility.Awaitility.await().atMost(WAIT).until(() -> traffic.connections() == before);
        assertThat(sh("ss -tn state close-wait src " + vm.address()).out().lines().count())
            .as("no CLOSE-WAIT socket on the VM's address (only ss's header)").isLessThanOrEqualTo(1);
    }

    @Test
    void wsSaysWhichVmThenEchoesTextAndBinaryOnAnyPath() throws Exception {
        LinkedBlockingQueue<Object> got = new LinkedBlockingQueue<>();
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(WAIT)
            .buildAsync(URI.create("ws://" + vm.address() + ":8080/any/path"), new Collector(got))
            .get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(got.poll(WAIT.toSeconds(), TimeUnit.SECONDS))
            .isEqualTo("{\"vm\":\"vm-49001\",\"instance\":\"vm-49001\",\"address\":\"127.0.197.1\"}");
        ws.sendText("ping 1", true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(got.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("ping 1");
        byte[] bin = new byte[100_000];
        new java.util.Random(7).nextBytes(bin);
        ws.sendBinary(ByteBuffer.wrap(bin), true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(got.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(HexFormat.of().formatHex(bin));
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** Text messages as strings, binary ones as hex; whole messages only (parts joined). */
    static final class Collector implements WebSocket.Listener {
        private final LinkedBlockingQueue<Object> got;
        private final StringBuilder text = new StringBuilder();
        private final java.io.ByteArrayOutputStream binary = new java.io.ByteArrayOutputStream();

        Collector(LinkedBlockingQueue<Object> got) {
            this.got = got;
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                got.add(text.toString());
                text.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            binary.writeBytes(b);
            if (last) {
                got.add(HexFormat.of().formatHex(binary.toByteArray()));
                binary.reset();
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
            got.add("closed " + code);
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            got.add("error " + error);
        }
    }
}
