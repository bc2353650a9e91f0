package dev.planetary.bench.harness;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The harness's pure parts: the passes, the generator-check flag, the load tools' output parsing, the smoke path. */
class HarnessPartsTest {

    @Test
    void eachRepetitionStartsOneTargetLaterSoNoColumnAlwaysRunsFirst() {
        List<String> targets = List.of("direct", "haproxy", "planetary");
        assertThat(Harness.rotated(targets, 0)).containsExactly("direct", "haproxy", "planetary");
        assertThat(Harness.rotated(targets, 1)).containsExactly("haproxy", "planetary", "direct");
        assertThat(Harness.rotated(targets, 2)).containsExactly("planetary", "direct", "haproxy");
        assertThat(Harness.rotated(targets, 3)).containsExactly("direct", "haproxy", "planetary");
        assertThat(Harness.rotated(List.of(), 1)).isEmpty();
    }

    @Test
    void pinOnlyPinsThePassesWhoseThreadsFitTheProxyCpus() {
        Options o = Options.parse(new String[]{"--pin", "--nbthread", "1,2", "--out", "x.md"});
        List<Pass> passes = Pass.of(o);
        assertThat(passes).hasSize(2);
        assertThat(passes.get(0).pinned()).isTrue();
        assertThat(passes.get(0).proxyCpus()).isEqualTo("0");
        assertThat(passes.get(0).generatorCpus()).isEqualTo("1");
        assertThat(passes.get(0).label()).isEqualTo("1, pinned");
        assertThat(passes.get(1).pinned()).isFalse();
        assertThat(passes.get(1).generatorCpus()).isEqualTo(o.allCpus);
        assertThat(passes.get(1).label()).isEqualTo("2, unpinned");
    }

    @Test
    void variantOptionsBuildOneColumnPerLabelWhateverTheirOrder() {
        Options o = Options.parse(new String[]{"--variant-java", "jdk25=/opt/jdk25/bin/java", "--variant",
            "jdk25=-Xmx1g", "--variant-jar", "old=/tmp/old.jar", "--out", "x.md"});
        assertThat(o.targets).extracting(TargetSpec::label).containsExactly("direct", "haproxy", "planetary", "jdk25",
            "old");
        TargetSpec jdk25 = o.targets.get(3);
        assertThat(jdk25.javaOr("java")).isEqualTo("/opt/jdk25/bin/java");
        assertThat(jdk25.optsOr("dflt")).isEqualTo("-Xmx1g");
        assertThat(TargetProcess.command(jdk25, Path.of("p.cfg"), o, null))
            .containsExactly("/opt/jdk25/bin/java", "-Xmx1g", "-jar", o.proxyJar.toString(), "-f", "p.cfg");
        TargetSpec old = o.targets.get(4);
        assertThat(old.javaOr("java")).isEqualTo("java");
        assertThat(old.jarOr(null)).isEqualTo(Path.of("/tmp/old.jar"));
    }

    @Test
    void aVariantConfigIsMergedSectionBySectionIntoTheGeneratedOne(@TempDir Path dir) throws Exception {
        Options o = Options.parse(new String[]{"--variant-config",
            "tcplog=global\\n    log 127.0.0.1:5140 local0\\ndefaults\\nlog global\\n    option tcplog\\n"
                + "listen idle\\n    timeout client 1m\\nlisten extra\\n    bind 127.0.0.1:1", "--out", "x.md"});
        assertThat(o.targets).extracting(TargetSpec::label).containsExactly("direct", "haproxy", "planetary",
            "tcplog");
        TargetSpec tcplog = o.targets.get(3);
        Path generated = dir.resolve("traffic-1.cfg");
        String cfg = ConfigGen.harness(32100, 1000, 1, 5201, List.of(8001), List.of(9001));
        Files.writeString(generated, cfg);

        Path merged = tcplog.configFor(generated, dir);
        assertThat(merged).isEqualTo(dir.resolve("traffic-1-tcplog.cfg"));
        String m = Files.readString(merged);
        assertThat(m).contains("global\n    maxconn 1000\n    nbthread 1\n    hard-stop-after 1s\n"
            + "    log 127.0.0.1:5140 local0\n\ndefaults\n");
        assertThat(m).contains("    timeout server 5m\n    log global\n    option tcplog\n\nlisten bulk");
        assertThat(m).contains("listen idle\n    bind 127.0.0.1:32103\n    server s1 127.0.0.1:9001\n"
            + "    timeout client 1m\n\n");
        assertThat(m).endsWith("listen extra\n    bind 127.0.0.1:1\n");
        assertThat(m.split("\n", -1)).filteredOn(l -> l.startsWith("defaults")).hasSize(1);
        assertThat(ConfigGen.merge(cfg, "")).as("nothing to merge: the same config").isEqualTo(cfg);
        assertThat(o.targets.get(2).configFor(generated, dir)).as("the other columns: the generated one")
            .isEqualTo(generated);

        Path file = dir.resolve("fragment.cfg");
        Files.writeString(file, "defaults\n    option tcplog\n");
        TargetSpec fromFile = Options.parse(new String[]{"--variant-config", "f=" + file, "--variant", "f=-Xmx1g",
            "--out", "x.md"}).targets.get(3);
        assertThat(fromFile.config()).isEqualTo("defaults\n    option tcplog\n");
        assertThat(fromFile.optsOr("dflt")).isEqualTo("-Xmx1g");
        assertThat(TargetProcess.command(fromFile, fromFile.configFor(generated, dir), o, null))
            .endsWith("-f", dir.resolve("traffic-1-f.cfg").toString());

        assertThatThrownBy(() -> Options.parse(new String[]{"--variant-config", "bad=option tcplog"}))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("line 1 (option tcplog) is not in a"
                + " section");
    }

    @Test
    void aHaproxyVariantRunsHaproxyWithTheSameFragmentAsItsOwnColumn(@TempDir Path dir) throws Exception {
        String fragment = "global\\n    log 127.0.0.1:5140 local0\\ndefaults\\n    log global\\n    option tcplog";
        Options o = Options.parse(new String[]{"--targets", "haproxy,planetary", "--haproxy-variant",
            "haproxy-tcplog=" + fragment, "--variant-config", "tcplog=" + fragment, "--syslog-sink", "5140",
            "--out", "x.md"});
        assertThat(o.targets).extracting(TargetSpec::label).containsExactly("haproxy", "planetary", "haproxy-tcplog",
            "tcplog");
        assertThat(o.targets).extracting(TargetSpec::kind).containsExactly(Target.HAPROXY, Target.PLANETARY,
            Target.HAPROXY, Target.PLANETARY);
        assertThat(o.syslogSink).isEqualTo(5140);
        assertThat(Report.variants(o)).containsExactly("haproxy-tcplog", "tcplog");
        TargetSpec hv = o.targets.get(2);
        Path generated = dir.resolve("traffic-1.cfg");
        Files.writeString(generated, ConfigGen.harness(32100, 1000, 1, 5201, List.of(8001), List.of(9001)));
        Path merged = hv.configFor(generated, dir);
        assertThat(TargetProcess.command(hv, merged, o, "0"))
            .containsExactly("taskset", "-c", "0", o.haproxy, "-db", "-f", dir.resolve("traffic-1-haproxy-tcplog.cfg")
                .toString());
        assertThat(Files.readString(merged)).isEqualTo(Files.readString(o.targets.get(3).configFor(generated, dir)))
            .contains("    log global\n    option tcplog\n");
        assertThatThrownBy(() -> Options.parse(new String[]{"--haproxy-variant", "planetary=defaults\\n"}))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("column planetary exists already");
    }

    @Test
    void theSyslogCounterCountsLinesOfEveryDatagram() throws Exception {
        assertThat(SyslogCounter.linesIn(java.nio.ByteBuffer.wrap("a\n".getBytes()))).isEqualTo(1);
        assertThat(SyslogCounter.linesIn(java.nio.ByteBuffer.wrap("a\nb\n".getBytes()))).isEqualTo(2);
        assertThat(SyslogCounter.linesIn(java.nio.ByteBuffer.wrap("cut at len".getBytes()))).isEqualTo(1);
        assertThat(SyslogCounter.linesIn(java.nio.ByteBuffer.allocate(0))).isZero();
        try (SyslogCounter c = SyslogCounter.start(0);
             java.nio.channels.DatagramChannel tx = java.nio.channels.DatagramChannel.open()) {
            java.net.InetSocketAddress to = new java.net.InetSocketAddress("127.0.0.1", c.port());
            for (int i = 0; i < 5; i++) {
                tx.send(java.nio.ByteBuffer.wrap(("<134>line " + i + "\n").getBytes()), to);
            }
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> c.lines() == 5);
            assertThat(c.datagrams()).isEqualTo(5);
            // the buffer the kernel granted is read back; below the one asked, the report says so
            assertThat(c.receiveBuffer()).isPositive();
            if (c.receiveBuffer() < SyslogCounter.RECEIVE_BUFFER) {
                assertThat(c.bufferNote()).contains(Integer.toString(c.receiveBuffer()), "net.core.rmem_max");
            } else {
                assertThat(c.bufferNote()).isNull();
            }
        }
    }

    @Test
    void cpuListsAreCounted() {
        assertThat(Pass.cpuCount("0")).isEqualTo(1);
        assertThat(Pass.cpuCount("1-3")).isEqualTo(3);
        assertThat(Pass.cpuCount("0,2-3")).isEqualTo(3);
        assertThat(Pass.cpuNumbers("0,2-3")).containsExactly(0, 2, 3);
    }

    @Test
    void aRateBelowOneAndAHalfTimesDirectIsFlagged() {
        Map<String, List<Double>> ranks = Map.of("direct", List.of(30.0, 31.0, 29.0), "haproxy", List.of(19.0),
                "planetary", List.of(10.0));
        Map<String, List<Double>> capped = Map.of("direct", List.of(5_725.0), "haproxy", List.of(5_874.0),
                "planetary", List.of(4_576.0));
        assertThat(Report.directCheck(Figure.CPS, ranks)).isEqualTo("1.58");
        assertThat(Report.directCheck(Figure.CPS, capped)).isEqualTo("0.97 " + Report.FLAG);
        assertThat(Report.directCheck(Figure.RR_P99, capped)).isEmpty();
        assertThat(Report.directCheck(Figure.CPS, Map.of("direct", List.of(), "haproxy", List.of(1.0)))).isEqualTo("—");
    }

    @Test
    void aPinnedRowIsTheGeneratorsWhenItsCpusAreFullAndTheProxysAreNot() {
        Pass pinned = new Pass(1, "0", "1");
        Pass unpinned = new Pass(2, null, "0-1");
        Map<String, List<Results.Cpu>> cpu = Map.of(
                "direct", List.of(new Results.Cpu(Double.NaN, Double.NaN, new double[]{0.02, 1.0})),
                "haproxy", List.of(new Results.Cpu(0.70, 45, new double[]{0.71, 0.99}),
                        new Results.Cpu(0.75, 44, new double[]{0.76, 0.97})),
                "planetary", List.of(new Results.Cpu(0.99, 90, new double[]{1.0, 0.99})));
        assertThat(Report.generatorBound(pinned, cpu)).containsExactly("haproxy");
        assertThat(Report.machineBusy(pinned, cpu)).isEmpty();
        assertThat(Report.generatorBound(unpinned, cpu)).isEmpty();
        Map<String, List<Results.Cpu>> idleGenerator = Map.of(
                "haproxy", List.of(new Results.Cpu(0.70, 45, new double[]{0.71, 0.60})));
        assertThat(Report.generatorBound(pinned, idleGenerator)).isEmpty();
    }

    @Test
    void aPinnedProxyStarvedOnAFullCpuIsABusyMachineNotTheGenerator() {
        Pass pinned = new Pass(1, "0", "1");
        Map<String, List<Results.Cpu>> cpu = Map.of(
                "haproxy", List.of(new Results.Cpu(0.13, 48, new double[]{1.0, 1.0})));
        assertThat(Report.generatorBound(pinned, cpu)).isEmpty();
        assertThat(Report.machineBusy(pinned, cpu)).containsExactly("haproxy");
        assertThat(Report.machineBusy(new Pass(2, null, "0-1"), cpu)).isEmpty();
    }

    @Test
    void wrkResultLineIsParsed() {
        String out = "Running 1s test @ http://127.0.0.1:32104/\n  2 threads and 50 connections\n"
                + "WRK requests=495877 duration_us=3100208 errors=3 p50=262 p99=940 p999=2018\n";
        LoadTools.Result r = LoadTools.parseWrk(out);
        assertThat(r).isNotNull();
        assertThat(r.count()).isEqualTo(495_877);
        assertThat(r.perSecond()).isCloseTo(495_877 / 3.100208, within(0.01));
        assertThat(r.errors()).isEqualTo(3);
        assertThat(r.p99()).isEqualTo(940_000.0);
        assertThat(LoadTools.parseWrk("unable to connect to 127.0.0.1:1 Connection refused")).isNull();
    }

    @Test
    void bulkLineIsParsedAndBytesTheSinkDidNotGetAreAnError() {
        LoadTools.Result r = LoadTools.parseBulk("BULK bytes=1086586880 nanos=1002989000 sent=1086586880\n");
        assertThat(r).isNotNull();
        assertThat(r.count()).isEqualTo(1_086_586_880L);
        assertThat(r.perSecond()).isCloseTo(1_086_586_880 / 1.002989, within(1.0));
        assertThat(LoadTools.parseBulk("planetary-load: connect: Connection refused")).isNull();
        assertThatThrownBy(() -> LoadTools.parseBulk("BULK bytes=10 nanos=5 sent=12"))
                .hasMessageContaining("the sink got 10 bytes of the 12 sent");
    }

    /** The C tool for real, built with the box's compiler: bulk into the sink, HTTP against the responders. */
    @Test
    void theLoadToolsSinkGetsEveryByteSentAndItsRespondersAnswerHttp(@TempDir Path dir) throws Exception {
        Options o = Options.parse(new String[]{"--nbthread", "2", "--out", dir.resolve("x.md").toString()});
        Pass pass = Pass.of(o).get(0);
        LoadTools tools = new LoadTools(o, dir);
        int port = Ports.freeRange(o.portLow, o.portHigh, 2);
        Process sink = null;
        Process responder = null;
        List<ProcessHandle> workers = List.of();
        try {
            sink = tools.sink(pass, port);
            responder = tools.responder(pass, List.of(port + 1));
            workers = responder.descendants().toList();
            LoadTools.Result r = tools.bulk(pass, port, 3, 1);
            assertThat(r.count()).as("bytes the sink got (and the sender sent)").isPositive();
            assertThat(r.nanos()).isGreaterThanOrEqualTo(1_000_000_000L);
            assertThat(workers).as("one responder process per generator CPU").hasSize(pass.generatorThreads());

            try (Socket s = new Socket("127.0.0.1", port + 1)) {
                s.setSoTimeout(5000);
                OutputStream out = s.getOutputStream();
                InputStream in = s.getInputStream();
                for (int i = 0; i < 2; i++) { // keep-alive: two answers on one connection
                    out.write("GET / HTTP/1.1\r\nHost: t\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    assertThat(answer(in)).startsWith("HTTP/1.1 200 OK\r\n").doesNotContain("connection: close")
                            .endsWith("\r\n\r\n" + ConfigGen.HTTP_BODY);
                }
                out.write("GET / HTTP/1.1\r\nHost: t\r\nConnection: Close\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                assertThat(answer(in)).contains("connection: close\r\n").endsWith(ConfigGen.HTTP_BODY);
                assertThat(in.read()).as("closed after answering Connection: close").isEqualTo(-1);
            }
        } finally {
            for (Process p : Arrays.asList(sink, responder)) {
                if (p != null) {
                    p.destroy();
                    assertThat(p.waitFor(10, TimeUnit.SECONDS)).as("stops on SIGTERM").isTrue();
                }
            }
            if (responder != null) {
                assertThat(responder.exitValue()).as("the responder stopped its workers and exited").isZero();
            }
        }
        assertThat(workers).as("the responder's workers stop with it").noneMatch(ProcessHandle::isAlive);
    }

    /** One answer of the responder: its head and its content-length body. */
    private static String answer(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        while (sb.indexOf("\r\n\r\n") < 0) {
            int b = in.read();
            assertThat(b).as("answer so far: %s", sb).isNotNegative();
            sb.append((char) b);
        }
        Matcher m = Pattern.compile("content-length: (\\d+)").matcher(sb);
        assertThat(m.find()).as("content-length in %s", sb).isTrue();
        sb.append(new String(in.readNBytes(Integer.parseInt(m.group(1))), StandardCharsets.US_ASCII));
        return sb.toString();
    }

    @Test
    void wholeSecondsForTheTools() {
        assertThat(LoadTools.seconds(0.3)).isZero();
        assertThat(LoadTools.seconds(0.6)).isEqualTo(1);
        assertThat(LoadTools.seconds(5)).isEqualTo(5);
    }

    @Test
    void smokeNeverWritesTheCommittedResults() {
        Options smoke = Options.parse(new String[]{"--smoke"});
        Options full = Options.parse(new String[0]);
        Path committed = Path.of("bench", "RESULTS.md");
        assertThat(full.out.toAbsolutePath().normalize()).endsWithRaw(committed);
        assertThat(smoke.out.toAbsolutePath().normalize()).doesNotHaveToString(full.out.toString())
                .endsWithRaw(Path.of("bench", "target", "RESULTS-smoke.md"));
        assertThat(Options.parse(new String[]{"--smoke", "--out", "/x/y.md"}).out).isEqualTo(Path.of("/x/y.md"));
    }
}
