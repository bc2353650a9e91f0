package dev.planetary.swarm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.testkit.Chromium;
import dev.planetary.testkit.Launcher;
import dev.planetary.testkit.Procs;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Tour, command by command, exactly as written there: {@code bin/planetary up --ssh} from a directory
 * whose {@code bin} links to the clone's (so {@code ./planetary-up} is a fresh state directory of this test), then
 * every line of the Tour's command block in order, each asserted, and Ctrl-C at the end (exit 0, nothing left).
 *
 * <p><b>Ports:</b> this test uses {@code up}'s real ports: 9000 (Genesis), 8404 (stats), 10000-11999, 20000-21999,
 * 30000-31999 and 32000 (the reduced plan this machine's 20,000 descriptors get). They overlap LargeRangeTest's
 * 10000-14999/20000-24999/30000-32000 in the proxy module: Maven runs the modules one after the other and each
 * module's test classes one at a time (no {@code -T}, no parallel surefire/failsafe here), so the proxy's tests have
 * ended before this one starts; the first step fails with a clear message if a port is taken all the same.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TourIT {

    private static final Duration UP_TIMEOUT = Duration.ofSeconds(180);
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(120);
    private static final Pattern PCPU = Pattern.compile(
        "(vm_[0-9a-f]{6}) (vm-\\d{4}) (127\\.0\\.\\d+\\.\\d+) sha256=([0-9a-f]{16})");
    private static final Pattern SSH_ID = Pattern.compile("vm_[0-9a-f]{6} vm-\\d{4} 127\\.0\\.\\d+\\.\\d+\n");
    private static final int[] PORTS = {9000, 8404, 10000, 11999, 20000, 21999, 30000, 31999, 32000};

    @TempDir
    static Path work;
    private List<String> readme;
    private final Set<String> ran = new LinkedHashSet<>();
    private Process up;
    private Path upOut;
    private boolean statsPage;
    private boolean statsSocket;
    private String firstVm;
    private String secondVm;

    @BeforeAll
    void startUp() throws Exception {
        readme = tourCommands(Files.readString(Launcher.root().resolve("README.md")));
        assertThat(readme).as("the Tour's command block").hasSizeGreaterThan(10);
        for (String[] jar : new String[][] {{"proxy/target/planetary-proxy.jar", "proxy"},
            {"registry/target/planetary-registry.jar", "registry"},
            {"registry-client/target/planetary-agent.jar", "registry-client"},
            {"swarm/target/planetary-swarm.jar", "swarm"}}) {
            Path p = Launcher.root().resolve(jar[0]);
            assertThat(p).as("built by mvn package before the integration tests").isRegularFile();
            assertThat(Launcher.newerThan(p, jar[1])).as("bin/planetary would rebuild %s", p).isEmpty();
        }
        for (int port : PORTS) {
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress("127.0.0.1", port));
            } catch (IOException e) {
                throw new AssertionError("port " + port + " is taken: TourIT runs `up` on its real ports (9000, "
                    + "8404, 10000-11999, 20000-21999, 30000-31999, 32000); stop whatever holds it (another up, a "
                    + "proxy, a test running in parallel)", e);
            }
        }
        Files.createSymbolicLink(work.resolve("bin"), Launcher.root().resolve("bin"));
        String first = readme.get(0);
        assertThat(first).isEqualTo("bin/planetary up --ssh");
        upOut = work.resolve("up.out");
        up = new ProcessBuilder("bash", "-c", "exec " + first).directory(work.toFile()).redirectErrorStream(true)
            .redirectOutput(upOut.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .start();
        ran.add(first);
        await("up prints what to try").atMost(UP_TIMEOUT).pollInterval(Duration.ofMillis(200))
            .failFast("up exited:\n" + "(see below)", () -> !up.isAlive())
            .until(() -> upOutput().contains("Ctrl-C stops everything"));
        String out = upOutput();
        System.out.println("up's output:\n" + out);
        assertThat(out).contains("planetary up: all 8 VMs routable", "a reduced plan: 10000-11999, 20000-21999");
        statsPage = !out.contains("stats page: not supported by this proxy build yet");
        statsSocket = !out.contains("stats socket: not supported by this proxy build yet");
    }

    @AfterAll
    void stopUp() throws Exception {
        if (up != null && up.isAlive()) {
            Procs.kill(up); // a failed step: SIGTERM (up stops what it started), then SIGKILL after 5 s
            up.waitFor(30, TimeUnit.SECONDS);
        }
        for (long pid : childPids()) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly); // only up's own children, by PID
        }
    }

    private String upOutput() {
        try {
            return Files.readString(upOut);
        } catch (IOException e) {
            return "";
        }
    }

    /** The last lines of every log in planetary-up/logs (for a failed step). */
    private static String logs() {
        StringBuilder b = new StringBuilder();
        try (var files = Files.list(work.resolve("planetary-up/logs"))) {
            for (Path f : files.sorted().toList()) {
                b.append("--- ").append(f.getFileName()).append(":\n").append(UpMain.tail(f)).append('\n');
            }
        } catch (IOException e) {
            b.append("(no logs: ").append(e).append(")");
        }
        return b.toString();
    }

    /** The Genesis and proxy pids up printed. */
    private List<Long> childPids() {
        List<Long> pids = new ArrayList<>();
        Matcher m = Pattern.compile("\\(pid (\\d+)").matcher(upOutput());
        while (m.find()) {
            pids.add(Long.parseLong(m.group(1)));
        }
        return pids;
    }

    /** The non-empty lines of the first sh block after "## Tour", each without its trailing comment. */
    static List<String> tourCommands(String readme) {
        int at = readme.indexOf("\n## Tour\n");
        assertThat(at).as("README has a Tour section").isPositive();
        String rest = readme.substring(at);
        int start = rest.indexOf("```sh\n");
        int end = rest.indexOf("\n```", start + 6);
        List<String> cmds = new ArrayList<>();
        for (String line : rest.substring(start + 6, end).split("\n")) {
            String cmd = line.replaceFirst("\\s{2,}#.*$", "").strip();
            if (!cmd.isEmpty()) {
                cmds.add(cmd);
            }
        }
        return cmds;
    }

    /** Runs one README command verbatim with bash in the tour directory; exit 0 or the step fails. */
    private String run(String cmd) throws Exception {
        assertThat(readme).as("the command is the README's, character for character").contains(cmd);
        Procs.Result r = Procs.run(Files.createDirectories(work.resolve("procs")), null, STEP_TIMEOUT,
            List.of("bash", "-c", "cd '" + work + "' && " + cmd));
        assertThat(r.code()).as("%s\n%s\nup's output:\n%s\n%s", cmd, r, upOutput(), logs()).isZero();
        ran.add(cmd);
        return r.out();
    }

    private static String sha16(String line) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
            .digest(line.getBytes(StandardCharsets.US_ASCII)), 0, 8);
    }

    @Test
    @Order(1)
    void ncToTheEntranceReachesAVm() throws Exception {
        String out = run("printf 'hello\\n' | nc -N 127.0.0.1 10000");
        Matcher m = PCPU.matcher(out);
        assertThat(m.find()).as(out).isTrue();
        assertThat(m.group(4)).isEqualTo(sha16("hello"));
    }

    @Test
    @Order(2)
    void ncToAPinnedPortReachesThatVm() throws Exception {
        String list = run("bin/planetary swarm list");
        List<String> rows = list.lines().filter(l -> l.startsWith("vm_")).toList();
        assertThat(rows).as(list).hasSize(8);
        assertThat(list).contains("8 local VMs in pid " + up.pid());
        firstVm = rows.get(0).split("\\s+")[0];
        secondVm = rows.get(1).split("\\s+")[0];
        for (String r : rows) {
            assertThat(r.split("\\s+")[3]).isEqualTo("registered");
        }
        String out = run("printf 'hello\\n' | nc -N 127.0.0.1 $(bin/planetary swarm list | awk '$1 ~ /^vm_/ "
            + "{print $5; exit}')");
        assertThat(out).startsWith(firstVm + " vm-0001 127.0.1.1 sha256=" + sha16("hello"));
    }

    @Test
    @Order(3)
    void anUploadIsCountedByteForByte() throws Exception {
        String out = run("head -c 10M /dev/zero | nc -N 127.0.0.1 30000");
        assertThat(out).matches("vm_[0-9a-f]{6} received 10485760 bytes\n");
    }

    @Test
    @Order(4)
    void sshThroughTheEntranceAndAPinnedPortLandsOnAVmsSshd() throws Exception {
        String any = run("ssh -p 20000 -i planetary-up/ssh/id_ed25519 -o StrictHostKeyChecking=no "
            + "-o UserKnownHostsFile=/dev/null root@127.0.0.1");
        assertThat(any).matches(SSH_ID);
        String pinned = run("ssh -p $(bin/planetary swarm list | awk '$1 ~ /^vm_/ {print $6; exit}') "
            + "-i planetary-up/ssh/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
            + "root@127.0.0.1");
        assertThat(pinned).isEqualTo(firstVm + " vm-0001 127.0.1.1\n");
    }

    @Test
    @Order(5)
    void theWebSocketPageWorksInHeadlessChromiumThroughPort32000() throws Exception {
        assertThat(run("curl -s http://127.0.0.1:32000/ | grep -o '<title>.*</title>'"))
            .isEqualTo("<title>Planetary: WebSocket through the proxy</title>\n");
        try (Chromium c = Chromium.start(work, 1280, 900)) {
            try {
                c.open("http://127.0.0.1:32000/");
                await("three echoes and the binary one").atMost(Chromium.WAIT)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> c.script("return document.getElementById('echoes').textContent").equals("3")
                        && c.script("return document.getElementById('binary').textContent").equals("ok"));
                assertThat(c.script("return document.getElementById('vm').textContent")).matches("vm_[0-9a-f]{6}");
                assertThat(c.script("return document.getElementById('page-vm').textContent"))
                    .matches("vm_[0-9a-f]{6}");
                assertThat(c.script("return document.getElementById('state').textContent")).isEqualTo("open");
                assertThat(c.script("return document.getElementById('url').textContent"))
                    .isEqualTo("ws://127.0.0.1:32000/");
            } catch (Exception | AssertionError e) {
                throw new AssertionError("chromedriver output:\n" + c.driverOutput(), e);
            }
        }
    }

    @Test
    @Order(6)
    void theGenesisDashboardAndItsCount() throws Exception {
        assertThat(run("curl -s http://127.0.0.1:9000/ | grep -o '<title>.*</title>'"))
            .isEqualTo("<title>Genesis — Planetary registry</title>\n");
        assertThat(run("curl -s http://127.0.0.1:9000/api/pcpu/count")).contains("\"vms\":8,", "\"cores\":8");
    }

    @Test
    @Order(7)
    void theStatsPage() throws Exception {
        Assumptions.assumeTrue(statsPage, "SKIPPED: the proxy on this branch does not accept a `listen stats` page "
            + "yet (issue 9); up said so and runs without it. This Tour step runs once the proxy supports it.");
        assertThat(run("curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:8404/")).isEqualTo("200\n");
    }

    @Test
    @Order(7)
    void theStatsSocket() throws Exception {
        Assumptions.assumeTrue(statsSocket, "SKIPPED: the proxy on this branch does not accept `stats socket` yet "
            + "(issue 9); up said so and runs without it. This Tour step runs once the proxy supports it.");
        assertThat(run("echo 'show stat' | socat stdio planetary-up/admin.sock | head -1"))
            .startsWith("# pxname,svname,");
    }

    @Test
    @Order(8)
    void spawnedVmsTakeTrafficAtOnce() throws Exception {
        String spawn = run("bin/planetary swarm spawn --count 100");
        System.out.println("spawn: " + spawn);
        assertThat(spawn).contains("started 100 VMs (vm-0009 .. vm-0108)", "all 100 new VMs routable",
            "swarm: 108 VMs");
        String distinct = run("for i in $(seq 150); do printf 'x\\n' | nc -N 127.0.0.1 10000; done "
            + "| cut -d' ' -f2 | sort -u | wc -l");
        assertThat(Integer.parseInt(distinct.trim())).as("VMs that answered 150 connections to the entrance: the "
            + "new ones among them (leastconn, ties to the least recently used)").isGreaterThan(54);
    }

    @Test
    @Order(9)
    void killedVmsExpireAndALeftOneDrains() throws Exception {
        String kill = run("bin/planetary swarm kill --count 10");
        assertThat(kill.lines().filter(l -> l.startsWith("killed vm_"))).hasSize(10);
        String count = "curl -s http://127.0.0.1:9000/api/pcpu/count";
        assertThat(run(count)).as("at once: Genesis still counts them").contains("\"vms\":108,");
        await("Genesis expires the 10 killed VMs after its TTL").atMost(Duration.ofSeconds(90))
            .pollInterval(Duration.ofSeconds(1)).until(() -> run(count).contains("\"vms\":98,"));

        String leave = run("bin/planetary swarm leave vm-0002");
        assertThat(leave).startsWith("left " + secondVm + " vm-0002 127.0.1.2\n");
        String vm = Procs.run(work, null, STEP_TIMEOUT, List.of("curl", "-s",
            "http://127.0.0.1:9000/api/vms/" + secondVm)).out();
        assertThat(vm).as("left: draining (or already removed)").containsAnyOf("\"state\":\"draining\"",
            "not found");
    }

    @Test
    @Order(10)
    void everyTourCommandRanAndCtrlCStopsEverythingWithExit0() throws Exception {
        List<String> notRun = new ArrayList<>(readme);
        notRun.removeAll(ran);
        if (!statsPage) {
            notRun.removeIf(c -> c.contains("8404")); // skipped above, saying why
        }
        if (!statsSocket) {
            notRun.removeIf(c -> c.contains("admin.sock"));
        }
        assertThat(notRun).as("README Tour commands this test did not run").isEmpty();

        List<Long> children = childPids();
        assertThat(children).as("Genesis' and the proxy's pids, printed by up").hasSize(2);
        String signal = sigIntIgnored(up.pid()) ? "TERM" : "INT"; // a background job may start with SIGINT ignored
        Procs.run(work, null, Duration.ofSeconds(10), List.of("kill", "-" + signal, String.valueOf(up.pid())));
        assertThat(up.waitFor(60, TimeUnit.SECONDS)).as("up stops within 60 s of SIG%s", signal).isTrue();
        assertThat(up.exitValue()).as(upOutput()).isZero();
        assertThat(upOutput()).contains("planetary up: stopped");
        for (long pid : children) {
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("pid %d", pid).isFalse();
        }
        for (int port : new int[] {9000, 10000, 32000}) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 1_000);
                throw new AssertionError("port " + port + " still accepts after up stopped");
            } catch (IOException expected) {
                // refused: nothing listens any more
            }
        }
        assertThat(work.resolve("planetary-up/up.pid")).doesNotExist();
        assertThat(Files.readAllLines(work.resolve("planetary-up/swarm/vms"))).as("kept for the next up")
            .hasSize(97).contains("vm-0001").doesNotContain("vm-0002", "vm-0108");
    }

    private static boolean sigIntIgnored(long pid) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith("SigIgn:")) {
                return (Long.parseLong(l.substring(7).trim(), 16) & 0x2) != 0;
            }
        }
        return false;
    }
}
