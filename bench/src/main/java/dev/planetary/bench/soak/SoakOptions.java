package dev.planetary.bench.soak;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The soak's options. Defaults are a light, steady mix meant to run beside other work on a 2-core machine: the soak
 * looks for growth and lost bytes over time, not for throughput (the bench harness measures that).
 */
final class SoakOptions {

    static final String USAGE = String.join("\n",
        "usage: planetary soak --minutes N [--out FILE] [options]",
        "  --minutes N            how long the load runs (decimals allowed), e.g. 2, 10, 60",
        "  --out FILE             the samples as CSV; the summary goes beside it as FILE with .md",
        "                         (default soak.csv in the working directory)",
        "  --proxy-jar JAR        default proxy/target/planetary-proxy.jar",
        "  --registry-jar JAR     default registry/target/planetary-registry.jar",
        "  --proxy-opts 'OPTS'    the proxy's JVM flags (bin/planetary passes PLANETARY_JAVA_OPTS)",
        "  --registry-opts 'OPTS' Genesis' JVM flags",
        "  --sample-seconds S     default 10",
        "  --vms N                VMs at the start (default 6; churn keeps 4..8)",
        "  --churn-seconds S      one register, leave or expiry every S seconds (default 4)",
        "  --bulk N --bulk-mbps X bulk streams and each one's rate in MB/s (default 2 at 2)",
        "  --rr N --rr-rate R     request/response connections and each one's requests/s (default 4 at 50)",
        "  --cps R                new connections per second (default 20)",
        "  --idle N               idle connections held for the whole run (default 100)",
        "  --flap-seconds S       a static server fails its health checks every S seconds (default 15)",
        "Exit code: 0 passed, 1 failed (growth, a lost or corrupted byte, an error), 2 bad options or no start.");

    double minutes = -1;
    Path out = Path.of("soak.csv");
    Path proxyJar = Path.of("proxy/target/planetary-proxy.jar");
    Path registryJar = Path.of("registry/target/planetary-registry.jar");
    /** The launcher's default flags for the proxy; bin/planetary passes its PLANETARY_JAVA_OPTS explicitly. */
    String proxyOpts = "-Xms256m -Xmx256m -Xmn16m -XX:+UseParallelGC -XX:MaxDirectMemorySize=1g "
        + "-Dio.netty.leakDetection.level=disabled";
    /** The launcher's default flags for Genesis. */
    String registryOpts = "-Xms256m -Xmx256m -XX:+UseParallelGC";
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String command = "planetary soak";
    double sampleSeconds = 10;
    int vms = 6;
    int minVms = 4;
    int maxVms = 8;
    double churnSeconds = 4;
    int bulk = 2;
    double bulkBytesPerSecond = 2e6;
    int requestConnections = 4;
    double requestsPerSecond = 50;
    double connectsPerSecond = 20;
    int idle = 100;
    double flapSeconds = 15;
    /** Down long enough for several checks (inter 500 ms, fall 2) even when the machine is loaded. */
    double flapDownSeconds = 4;
    /** Test hook: corrupt one echoed byte on a static server this many seconds in (proves detection); -1 never. */
    double injectCorruptionAt = -1;

    static SoakOptions parse(String[] args) {
        SoakOptions o = new SoakOptions();
        List<String> a = new ArrayList<>(List.of(args));
        for (int i = 0; i < a.size(); i++) {
            String k = a.get(i);
            if (k.equals("-h") || k.equals("--help")) {
                throw new IllegalArgumentException("");
            }
            if (i + 1 >= a.size()) {
                throw new IllegalArgumentException("option " + k + " needs a value");
            }
            String v = a.get(++i);
            switch (k) {
                case "--minutes": o.minutes = positive(k, v); break;
                case "--out": o.out = Path.of(v); break;
                case "--proxy-jar": o.proxyJar = Path.of(v); break;
                case "--registry-jar": o.registryJar = Path.of(v); break;
                case "--proxy-opts": o.proxyOpts = v; break;
                case "--registry-opts": o.registryOpts = v; break;
                case "--java": o.java = v; break;
                case "--command": o.command = v; break;
                case "--sample-seconds": o.sampleSeconds = positive(k, v); break;
                case "--vms": o.vms = count(k, v, 2, 50); break;
                case "--churn-seconds": o.churnSeconds = positive(k, v); break;
                case "--bulk": o.bulk = count(k, v, 0, 64); break;
                case "--bulk-mbps": o.bulkBytesPerSecond = positive(k, v) * 1e6; break;
                case "--rr": o.requestConnections = count(k, v, 0, 256); break;
                case "--rr-rate": o.requestsPerSecond = positive(k, v); break;
                case "--cps": o.connectsPerSecond = count(k, v, 0, 2000); break;
                case "--idle": o.idle = count(k, v, 0, 4000); break;
                case "--flap-seconds": o.flapSeconds = positive(k, v); break;
                case "--inject-corruption-at": o.injectCorruptionAt = positive(k, v); break;
                default: throw new IllegalArgumentException("unknown option " + k);
            }
        }
        if (o.minutes <= 0) {
            throw new IllegalArgumentException("--minutes N is required");
        }
        o.minVms = Math.max(2, o.vms - 2);
        o.maxVms = o.vms + 2;
        return o;
    }

    long runNanos() {
        return (long) (minutes * 60e9);
    }

    private static double positive(String k, String v) {
        try {
            double d = Double.parseDouble(v);
            if (d > 0 && d < 1e7) {
                return d;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("option " + k + ": '" + v + "' is not a positive number");
    }

    private static int count(String k, String v, int min, int max) {
        try {
            int n = Integer.parseInt(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException("option " + k + ": '" + v + "' must be a whole number " + min + ".." + max);
    }
}
