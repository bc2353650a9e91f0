package dev.planetary.bench;

import dev.planetary.bench.harness.Harness;
import dev.planetary.bench.net.BackendMain;
import java.util.Arrays;

/**
 * Entry point of {@code planetary-bench.jar}: {@code jmh ARGS} runs the JMH suite (any {@code org.openjdk.jmh.Main}
 * arguments), {@code harness ARGS} runs the load harness, {@code backend ARGS} is the backend process the harness
 * starts for itself, {@code soak ARGS} the soak (Genesis and the proxy as processes under churn and mixed load).
 */
public final class BenchMain {

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            usage();
            System.exit(64);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (args[0]) {
            case "jmh":
                org.openjdk.jmh.Main.main(rest);
                break;
            case "harness":
                System.exit(Harness.run(rest));
                break;
            case "soak":
                System.exit(dev.planetary.bench.soak.SoakMain.run(rest));
                break;
            case "backend":
                BackendMain.main(rest);
                break;
            default:
                usage();
                System.exit(64);
        }
    }

    private static void usage() {
        System.err.println("usage: java -jar planetary-bench.jar jmh [JMH options] | harness [options, see --help]"
            + " | soak --minutes N [--out FILE] [options, see --help]");
    }
}
