package dev.planetary.bench.soak;

import dev.planetary.registry.client.CommandLines;

/**
 * {@code planetary soak --minutes N [--out FILE]}: hours of mixed load through the proxy while the swarm churns, in a
 * few minutes of set-up. Exit 0 passed, 1 failed (with the summary saying why), 2 bad options or no start.
 */
public final class SoakMain {

    private SoakMain() {
    }

    public static int run(String[] args) {
        SoakOptions o;
        try {
            o = SoakOptions.parse(args);
        } catch (IllegalArgumentException e) {
            if (e.getMessage().isEmpty()) { // --help
                System.out.println(SoakOptions.USAGE);
                return 0;
            }
            System.err.println("planetary soak: " + e.getMessage());
            System.err.println(SoakOptions.USAGE);
            return 2;
        }
        // the agents log one line per state change, hundreds over a long churn: warnings only, and an expiring VM's
        // failed leave is the soak's own doing
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.log.dev.planetary.registry.client.Agent", "error");
        CommandLines.logToStderr();
        try {
            return new SoakRun(o, System.out).run();
        } catch (Exception e) {
            System.err.println("planetary soak: " + e);
            return 2;
        }
    }
}
