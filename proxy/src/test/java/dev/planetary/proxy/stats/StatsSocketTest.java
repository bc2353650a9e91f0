package dev.planetary.proxy.stats;

import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Backends.TestServer;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.proxy.testing.Socat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The runtime API through socat, as an operator uses it, compared with HAProxy 2.6's own answers. */
class StatsSocketTest {

    @TempDir
    Path dir;
    private final Backends backends = new Backends();
    private Proxy proxy;
    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void tearDown() {
        if (proxy != null) {
            proxy.close();
        }
        backends.close();
        for (Process p : started) {
            p.destroyForcibly();
        }
    }

    private static final String DEFAULTS = """
        defaults
            mode tcp
            timeout connect 1s
            timeout client 30s
            timeout server 30s
        """;

    private int start(String globalLines, String servers) {
        int port = Ports.pcpu();
        proxy = Harness.start("global\n" + globalLines + DEFAULTS + """
            frontend fe
                bind 127.0.0.1:%d
                default_backend be
            backend be
                balance roundrobin
            """.formatted(port) + servers);
        return port;
    }

    private String admin() {
        return dir.resolve("admin.sock").toString();
    }

    private static String socat(String socket, String input) throws Exception {
        return Socat.run("UNIX-CONNECT:" + socket, input);
    }

    private String cmd(String command) throws Exception {
        return socat(admin(), command + "\n");
    }

    private Map<String, Integer> reached(int port, int n) throws IOException {
        Map<String, Integer> names = new HashMap<>();
        for (int i = 0; i < n; i++) {
            try (Socket s = Harness.connect(port)) {
                names.merge(Harness.readLine(s), 1, Integer::sum);
            }
        }
        return names;
    }

    @Test
    void showStatHeaderColumnsAndShowInfoNamesAreHaproxy26s() throws Exception {
        TestServer a = backends.named("a");
        int[] ports = {Ports.pcpu(), Ports.pcpu(), Ports.pcpu(), Ports.pcpu()};
        // a backend before its frontend and a listen section: proxies are numbered and listed in config order
        String proxies = DEFAULTS + """
            backend be
                balance roundrobin
                server a 127.0.0.1:%d check inter 200ms
                server b 127.0.0.1:1 weight 2
            frontend fe
                bind 127.0.0.1:%d
                default_backend be
            listen l
                bind 127.0.0.1:%d
                balance leastconn
                server c 127.0.0.1:%d maxconn 5 backup
            """;
        // the same global maxconn: each program derives its own from the descriptor limit otherwise
        proxy = Harness.start("global\n    maxconn 1000\n    stats socket " + admin() + " level admin\n"
            + proxies.formatted(a.port(), ports[0], ports[1], a.port()));
        // the same proxies in real HAProxy 2.6
        Path cfg = dir.resolve("haproxy.cfg");
        String hsock = dir.resolve("h.sock").toString();
        Files.writeString(cfg, "global\n    maxconn 1000\n    stats socket " + hsock + " level admin\n"
            + proxies.formatted(a.port(), ports[2], ports[3], a.port()));
        Process h = new ProcessBuilder("haproxy", "-db", "-f", cfg.toString()).redirectErrorStream(true)
            .redirectOutput(dir.resolve("haproxy.log").toFile()).start();
        started.add(h);
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(Path.of(hsock)));
        String theirs = socat(hsock, "show stat\n");
        String ours = cmd("show stat");
        List<String> theirLines = theirs.lines().toList();
        List<String> ourLines = ours.lines().toList();
        assertThat(ourLines.get(0)).isEqualTo(theirLines.get(0)).isEqualTo(StatColumns.HEADER);
        assertThat(ours).endsWith("\n\n");
        // same rows, and in each the same columns filled and left empty (values differ: uptime, ids, checks)
        assertThat(ourLines).hasSameSizeAs(theirLines);
        for (int i = 1; i < theirLines.size() - 1; i++) {
            String[] t = theirLines.get(i).split(",", -1);
            String[] o = ourLines.get(i).split(",", -1);
            assertThat(o).as("columns of row " + i).hasSameSizeAs(t);
            assertThat(o[0] + "," + o[1]).isEqualTo(t[0] + "," + t[1]);
            for (int c = 0; c < t.length; c++) {
                assertThat(o[c].isEmpty()).as(o[1] + " column " + StatColumns.name(Math.min(c, 127)) + " ours '"
                    + o[c] + "' theirs '" + t[c] + "'").isEqualTo(t[c].isEmpty());
            }
            // the columns that describe the config and state (not counts, times, or this run's ports) are equal
            for (String col : List.of("status", "weight", "act", "bck", "slim", "pid", "iid", "sid", "type",
                "check_rise", "check_fall", "mode", "algo", "uweight", "lastsess")) {
                int c = StatColumns.index(col);
                assertThat(o[c]).as(o[0] + "/" + o[1] + " " + col).isEqualTo(t[c]);
            }
        }
        List<String> theirInfo = socat(hsock, "show info\n").lines().map(l -> l.split(":", 2)[0]).toList();
        List<String> ourInfo = cmd("show info").lines().map(l -> l.split(":", 2)[0]).toList();
        assertThat(ourInfo).isEqualTo(theirInfo);
        List<String> theirTyped = socat(hsock, "show info typed\n").lines()
            .map(l -> l.replaceAll(":[^:]*$", "")).toList();
        List<String> ourTyped = cmd("show info typed").lines().map(l -> l.replaceAll(":[^:]*$", "")).toList();
        assertThat(ourTyped).isEqualTo(theirTyped);
        // typed show stat: same field names and tags per row type
        List<String> theirStatTyped = socat(hsock, "show stat typed\n").lines().map(StatsSocketTest::typedKey)
            .toList();
        List<String> ourStatTyped = cmd("show stat typed").lines().map(StatsSocketTest::typedKey).toList();
        assertThat(ourStatTyped).isEqualTo(theirStatTyped);
        assertThat(cmd("show servers state").lines().limit(2).toList())
            .isEqualTo(socat(hsock, "show servers state\n").lines().limit(2).toList());
        assertThat(cmd("show backend")).isEqualTo(socat(hsock, "show backend\n"));
        assertThat(cmd("show stat typed").lines().map(l -> l.replaceAll("\\.[a-z_0-9]+\\.1:.*$", "")).toList())
            .as("the same ids").isEqualTo(socat(hsock, "show stat typed\n").lines()
                .map(l -> l.replaceAll("\\.[a-z_0-9]+\\.1:.*$", "")).toList());
    }

    /** "S.3.1.4.scur.1:MGP:u32:0" -> "S.*.*.4.scur.1:MGP:u32" (ids and values differ between two processes). */
    private static String typedKey(String line) {
        return line.replaceAll("^([FBS])\\.\\d+\\.\\d+\\.", "$1.*.*.").replaceAll(":[^:]*$", "");
    }

    @Test
    void countersMoveWithTraffic() throws Exception {
        TestServer a = backends.named("a");
        int port = start("    stats socket " + admin() + "\n",
            "    server a 127.0.0.1:%d\n".formatted(a.port()));
        reached(port, 3);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            StatsSnapshot snap = StatsCollector.collect(proxy, ProxyStats.now());
            StatRow fe = row(snap, "fe", "FRONTEND");
            StatRow sv = row(snap, "be", "a");
            StatRow be = row(snap, "be", "BACKEND");
            assertThat(fe.getLong("stot", -1)).isEqualTo(3);
            assertThat(sv.getLong("stot", -1)).isEqualTo(3);
            assertThat(be.getLong("stot", -1)).isEqualTo(3);
            assertThat(fe.getLong("bout", -1)).isPositive();
            assertThat(sv.getLong("bout", -1)).isEqualTo(fe.getLong("bout", -1));
            assertThat(be.getLong("scur", -1)).isZero();
            assertThat(fe.getLong("rate_max", -1)).isPositive();
            assertThat(sv.getLong("lastsess", -1)).isBetween(0L, 5L);
        });
        assertThat(cmd("show info")).contains("CumConns: 3\n").contains("Name: Planetary\n");
    }

    /**
     * bin/bout are exact for frontend, backend and server: the relay adds each read batch once (not each read), so
     * many batches per connection and both directions must still sum to every byte sent.
     */
    @Test
    void bytesInAndOutAreExact() throws Exception {
        TestServer a = backends.echo("a");
        int port = start("", "    server a 127.0.0.1:%d\n".formatted(a.port()));
        long total = 0;
        byte[] chunk = new byte[64 * 1024];
        for (int i = 0; i < chunk.length; i++) {
            chunk[i] = (byte) (i * 31);
        }
        for (int c = 0; c < 3; c++) {
            try (Socket s = Harness.connect(port)) {
                int[] sizes = {chunk.length, 1, chunk.length, 7, chunk.length - 3, 1000 + c};
                for (int n : sizes) {
                    s.getOutputStream().write(chunk, 0, n);
                    byte[] back = s.getInputStream().readNBytes(n);
                    assertThat(back).hasSize(n).isEqualTo(java.util.Arrays.copyOf(chunk, n));
                    total += n;
                }
            }
        }
        long sent = total;
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            StatsSnapshot snap = StatsCollector.collect(proxy, ProxyStats.now());
            for (StatRow r : List.of(row(snap, "fe", "FRONTEND"), row(snap, "be", "BACKEND"), row(snap, "be", "a"))) {
                assertThat(r.getLong("bin", -1)).as(r.serverName() + " bin").isEqualTo(sent);
                assertThat(r.getLong("bout", -1)).as(r.serverName() + " bout").isEqualTo(sent);
            }
        });
    }

    private static StatRow row(StatsSnapshot snap, String px, String sv) {
        return snap.rows().stream().filter(r -> r.proxyName().equals(px) && r.serverName().equals(sv)).findFirst()
            .orElseThrow();
    }

    @Test
    void levelsModeAndBadCommands() throws Exception {
        TestServer a = backends.named("a");
        String user = dir.resolve("user.sock").toString();
        start("    stats socket " + admin() + " mode 660 level admin\n    stats socket " + user + " level user\n",
            "    server a 127.0.0.1:%d\n".formatted(a.port()));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of(admin()))))
            .isEqualTo("rw-rw----");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of(user))))
            .isEqualTo("rw-------");
        assertThat(socat(user, "set server be/a state maint\n")).isEqualTo("Permission denied\n\n");
        assertThat(socat(user, "show cli level\n")).isEqualTo("user\n\n");
        assertThat(socat(user, "show stat\n")).startsWith(StatColumns.HEADER);
        assertThat(cmd("operator; set server be/a weight 3")).isEqualTo("\nPermission denied\n\n");
        assertThat(proxy.backend("be").servers().get(0).weight()).isEqualTo(1);
        assertThat(cmd("frobnicate")).startsWith("Unknown command, but maybe one of the following ones is a better"
            + " match:\n").endsWith("\n\n");
        assertThat(cmd("set server be/nope state ready")).isEqualTo("No such server.\n\n");
        assertThat(cmd("set server nope/a state ready")).isEqualTo("No such backend.\n\n");
        assertThat(cmd("set server be/a state bogus"))
            .isEqualTo("'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n");
        assertThat(cmd("set server be/a weight 300"))
            .isEqualTo("Absolute weight can only be between 0 and 256 inclusive.\n\n");
        assertThat(cmd("set maxconn frontend nope 1")).isEqualTo("No such frontend.\n\n");
        assertThat(cmd("show servers state nope")).isEqualTo("Can't find backend.\n\n");
        assertThat(cmd("help")).startsWith("The following commands are valid at this level:\n")
            .contains("  set server <bk>/<srv> [opts]            : change a server's state, weight or address\n");
        assertThat(cmd("x".repeat(20_000))).isEqualTo("Command line too long.\n\n");
        assertThat(cmd("show genesis")).isEqualTo("# no genesis section is followed\n\n");
    }

    @Test
    void promptModeKeepsTheConnection() throws Exception {
        TestServer a = backends.named("a");
        start("    stats socket " + admin() + "\n", "    server a 127.0.0.1:%d\n".formatted(a.port()));
        String out = socat(admin(), "prompt\nshow backend\nget weight be/a\nquit\n");
        assertThat(out).isEqualTo("\n> # name\nbe\n\n> 1 (initial 1)\n\n> ");
    }

    @Test
    void changesThroughTheSocketShowInTraffic() throws Exception {
        TestServer a = backends.named("a");
        TestServer b = backends.named("b");
        TestServer c = backends.named("c");
        int port = start("    stats socket " + admin() + "\n",
            "    server a 127.0.0.1:%d\n    server b 127.0.0.1:%d\n".formatted(a.port(), b.port()));
        // maint: no new connections for a, and a live one to a goes on
        Socket live = Harness.connect(port);
        String first = Harness.readLine(live);
        String other = first.equals("a") ? "b" : "a";
        assertThat(cmd("set server be/" + first + " state maint")).isEqualTo("\n");
        assertThat(reached(port, 6)).containsOnlyKeys(other);
        assertThat(cmd("show stat be 4 -1")).contains("be," + first + ",").contains(",MAINT,");
        Harness.write(live, "still here\n");
        live.close();
        assertThat(cmd("set server be/" + first + " state ready")).isEqualTo("\n");
        // weight: 3 to 1 over 40 connections, smooth round robin is exact
        assertThat(cmd("set server be/a weight 3; set server be/b weight 1")).isEqualTo("\n\n");
        Map<String, Integer> split = reached(port, 40);
        assertThat(split).containsEntry("a", 30).containsEntry("b", 10);
        // add server: in maintenance until enabled (HAProxy 2.6), then it takes traffic
        assertThat(cmd("add server be/c 127.0.0.1:" + c.port() + " weight 4")).isEqualTo("New server registered.\n\n");
        assertThat(reached(port, 4)).doesNotContainKey("c");
        assertThat(cmd("enable server be/c")).isEqualTo("\n");
        assertThat(reached(port, 16)).containsKey("c");
        // del server: refused unless in maintenance, then gone
        assertThat(cmd("del server be/c")).isEqualTo("Only servers in maintenance mode can be deleted.\n\n");
        assertThat(cmd("set server be/c state maint; del server be/c")).isEqualTo("\nServer deleted.\n\n");
        assertThat(cmd("show servers state be")).doesNotContain(" c 127.0.0.1");
        // addr: the server moves; new connections go to the new address
        assertThat(cmd("set server be/b addr 127.0.0.1 port " + c.port()))
            .isEqualTo("no need to change the addr, port changed from '" + b.port() + "' to '" + c.port()
                + "' by 'stats socket command'\n\n");
        assertThat(cmd("set server be/a state maint")).isEqualTo("\n");
        assertThat(reached(port, 3)).containsOnlyKeys("c");
        // maxconn and shutdown sessions
        assertThat(cmd("set maxconn server be/b 5; set maxconn frontend fe 100; set maxconn global 1000"))
            .isEqualTo("\n\n\n");
        assertThat(proxy.frontend("fe").maxconn()).isEqualTo(100);
        Socket held = Harness.connect(port);
        assertThat(Harness.readLine(held)).isEqualTo("c");
        await().atMost(Duration.ofSeconds(5)).until(() -> cmd("show sess").contains("srv=b"));
        assertThat(cmd("shutdown sessions server be/b")).isEqualTo("\n");
        held.setSoTimeout(5000);
        assertThat(held.getInputStream().read()).isEqualTo(-1);
        held.close();
    }
}
