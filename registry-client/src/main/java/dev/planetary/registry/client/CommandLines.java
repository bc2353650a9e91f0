package dev.planetary.registry.client;

import java.io.PrintStream;
import java.io.PrintWriter;
import picocli.CommandLine;

/** What the module's command-line programs (the agent, sync-haproxy) share: their logging set-up and exit codes. */
public final class CommandLines {

    private CommandLines() {
    }

    /**
     * One log line per state change on stderr, with a timestamp; slf4j-simple reads these before the first logger,
     * and an explicit {@code -D} on the command line still wins.
     */
    public static void logToStderr() {
        setDefault("org.slf4j.simpleLogger.logFile", "System.err");
        setDefault("org.slf4j.simpleLogger.showDateTime", "true");
        setDefault("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSZ");
        setDefault("org.slf4j.simpleLogger.showThreadName", "false");
        setDefault("org.slf4j.simpleLogger.showShortLogName", "true");
        setDefault("org.slf4j.simpleLogger.log.io.netty", "warn");
        // Netty warns when no interface has a hardware address (containers); it then uses random bytes, which is fine
        setDefault("org.slf4j.simpleLogger.log.io.netty.util.internal.MacAddressUtil", "error");
    }

    /**
     * Runs a picocli command: a bad option prints {@code planetary NAME: message} and the usage line, exit 2; a
     * failure while running prints {@code planetary NAME: exception}, exit 1 (never a stack trace); otherwise the
     * command's own exit code.
     */
    public static int run(Object command, String name, String usage, String[] args, PrintStream out,
                          PrintStream err) {
        CommandLine cl = new CommandLine(command);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("planetary " + name + ": " + ex.getMessage());
            err.println(usage);
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, c, p) -> {
            err.println("planetary " + name + ": " + ex);
            return 1;
        });
        return cl.execute(args);
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
