package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Procs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/**
 * The real OpenSSH client through the proxy to a real sshd (started by the test on loopback, with keys made in a
 * temporary directory): a command's output, and 1 MiB each way, byte-exact.
 */
class SshThroughProxyTest {

    private static final String USER = System.getProperty("user.name");
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    private Process sshd;
    private Path sshdLog;
    private int sshdPort;
    private Proxy proxy;
    private int proxyPort;

    @BeforeEach
    void setUp() throws Exception {
        keygen("host_key");
        keygen("user_key");
        Files.copy(dir.resolve("user_key.pub"), dir.resolve("authorized_keys"));
        // Privilege separation directory: sshd refuses to start without it (Debian creates it only at boot).
        Path privsep = Path.of("/run/sshd");
        if (!Files.isDirectory(privsep)) {
            Files.createDirectories(privsep);
        }
        startSshd();
        proxyPort = Ports.ssh();
        proxy = Harness.start("""
            global
                maxconn 100
                nbthread 2
            defaults
                mode tcp
                timeout connect 5s
                timeout client 60s
                timeout server 60s
            listen pfsshfs
                bind 127.0.0.1:%d
                balance source
                hash-type consistent
                server sshd 127.0.0.1:%d
            """.formatted(proxyPort, sshdPort));
    }

    @AfterEach
    void tearDown() {
        try {
            if (proxy != null) {
                proxy.close();
            }
        } finally {
            Procs.kill(sshd);
        }
    }

    private void keygen(String name) throws Exception {
        Procs.Result r = Procs.run(dir, null, Duration.ofSeconds(30),
            List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "planetary-test", "-f",
                dir.resolve(name).toString()));
        assertThat(r.code()).as("ssh-keygen %s: %s", name, r).isZero();
    }

    /** Starts sshd on a free port above the proxy ranges; a port taken between probe and bind gets a new try. */
    private void startSshd() throws Exception {
        String lastLog = "";
        for (int attempt = 0; attempt < 3; attempt++) {
            sshdPort = Ports.freeRun(40_000, 60_000, 1);
            Path config = dir.resolve("sshd_config");
            Files.writeString(config, """
                Port %d
                ListenAddress 127.0.0.1
                HostKey %s
                AuthorizedKeysFile %s
                PidFile %s
                StrictModes no
                UsePAM no
                PubkeyAuthentication yes
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PermitRootLogin prohibit-password
                AllowTcpForwarding no
                X11Forwarding no
                PrintMotd no
                """.formatted(sshdPort, dir.resolve("host_key"), dir.resolve("authorized_keys"),
                dir.resolve("sshd.pid")));
            Procs.Running r = Procs.start(dir, null, List.of("/usr/sbin/sshd", "-D", "-e", "-f", config.toString()));
            sshd = r.process();
            sshdLog = r.stderrFile();
            await("sshd accepts on " + sshdPort).atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50))
                .until(() -> !sshd.isAlive() || greets(sshdPort));
            if (sshd.isAlive()) {
                return;
            }
            lastLog = Procs.read(sshdLog);
        }
        throw new AssertionError("sshd did not start in 3 attempts; last log:\n" + lastLog);
    }

    /** Connects and reads the SSH identification string. */
    private static boolean greets(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            s.setSoTimeout(2_000);
            byte[] banner = s.getInputStream().readNBytes(4);
            return new String(banner, StandardCharsets.US_ASCII).equals("SSH-");
        } catch (IOException e) {
            return false;
        }
    }

    private List<String> ssh(String remoteCommand) {
        List<String> cmd = new ArrayList<>(List.of("ssh", "-F", "/dev/null",
            "-p", String.valueOf(proxyPort),
            "-i", dir.resolve("user_key").toString(),
            "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10",
            "-o", "LogLevel=ERROR",
            USER + "@127.0.0.1"));
        cmd.add(remoteCommand);
        return cmd;
    }

    private Procs.Result runSsh(String remoteCommand, Path stdin) throws Exception {
        Procs.Result r = Procs.run(dir, stdin, Duration.ofSeconds(60), ssh(remoteCommand));
        assertThat(r.code()).as("ssh exit code; %s\n--- sshd log:\n%s", r, Procs.read(sshdLog)).isZero();
        return r;
    }

    @Test
    void remoteCommandOutputComesBackThroughTheProxy() throws Exception {
        long before = proxy.frontend("pfsshfs").acceptedCount();
        Procs.Result r = runSsh("echo planetary-$((6*7)); uname -s", null);
        assertThat(r.out()).as("%s", r).contains("planetary-42").contains("Linux");
        assertThat(proxy.frontend("pfsshfs").acceptedCount()).as("connections through the proxy")
            .isEqualTo(before + 1);
        assertThat(Procs.read(sshdLog)).as("sshd saw the key login").contains("Accepted publickey for " + USER);
    }

    @Test
    void oneMebibyteUploadedIsHashedIdenticallyOnTheServer() throws Exception {
        byte[] data = randomBytes(MIB, 7);
        Path file = Files.write(dir.resolve("upload.bin"), data);
        Procs.Result r = runSsh("sha256sum", file);
        assertThat(r.out().trim()).as("%s", r).isEqualTo(sha256Hex(data) + "  -");
    }

    @Test
    void oneMebibyteDownloadedArrivesByteExact() throws Exception {
        byte[] data = randomBytes(MIB, 11);
        Path file = Files.write(dir.resolve("download.bin"), data);
        Procs.Result r = runSsh("cat '" + file + "'", null);
        assertThat(r.stdout().length).as("bytes received; stderr: %s", r.stderr()).isEqualTo(MIB);
        assertThat(sha256Hex(r.stdout())).isEqualTo(sha256Hex(data));
    }

    @Test
    void consecutiveSessionsFromOneClientAllSucceed() throws Exception {
        // balance source: every session of this client goes to the one server; five in a row, each complete.
        for (int i = 0; i < 5; i++) {
            Procs.Result r = runSsh("echo session-" + i, null);
            assertThat(r.out().trim()).isEqualTo("session-" + i);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.activeConnections() == 0);
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String sha256Hex(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }
}
