package dev.planetary.proxy;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The proxy's command line, HAProxy's style ({@code -f FILE} repeatable, {@code -c}, {@code -v}, {@code -p},
 * {@code -x}, {@code -sf PID...}), read by hand: a start-up reads it once, and a parser library on the start path
 * costs more than the few options it reads (picocli's 166 classes are Java 5 class files, which neither the JDK 17
 * class-data archive nor the JDK 25 ahead-of-time cache can hold, so every start parsed and verified them; issue 15).
 */
final class ProxyArgs {

    static final String USAGE_LINE = "Usage: planetary proxy -f FILE [-f FILE ...] [-c] [-p PIDFILE]"
        + " [--handover-socket SOCKET] [-x SOCKET] [-sf PID ...] | -v";

    static final String HELP = String.join(System.lineSeparator(),
        USAGE_LINE,
        "Port-range TCP load balancer configured in HAProxy's configuration language.",
        "  -f FILE                   Configuration file (or a directory of them); may be given several times.",
        "  -c                        Check the configuration and exit (0 valid, 1 errors).",
        "  -v                        Print the version and exit.",
        "  -p PIDFILE                Write the process id to PIDFILE once listening.",
        "  --handover-socket SOCKET  Expose the listening sockets on this unix socket, for a later process",
        "                            started with -x.",
        "  -x SOCKET                 Take the listening sockets of the running process that exposes them on",
        "                            SOCKET (seamless hand-over); ports it does not offer are bound fresh.",
        "  -sf PID...                Once listening, tell these processes to stop accepting and finish their",
        "                            connections (SIGUSR1).",
        "  -h, --help                Show this help and exit.",
        "");

    /** A command line that cannot be run, with why (HAProxy's and picocli's wording). */
    static final class Invalid extends Exception {
        Invalid(String message) {
            super(message, null, false, false);
        }
    }

    List<Path> files;
    boolean check;
    boolean version;
    boolean help;
    Path pidFile;
    Path handoverSocket;
    Path takeFrom;
    List<Long> softStopPids;

    private ProxyArgs() {
    }

    /** The short options that take a value, which may also be attached ({@code -fFILE}, {@code -f=FILE}). */
    private static final String SHORT_WITH_VALUE = "fpx";

    static ProxyArgs parse(String[] raw) throws Invalid {
        String[] args = split(raw);
        ProxyArgs a = new ProxyArgs();
        for (int i = 0; i < args.length; i++) {
            String k = args[i];
            switch (k) {
                case "-f" -> {
                    if (a.files == null) {
                        a.files = new ArrayList<>();
                    }
                    a.files.add(path(value(args, ++i, k, "FILE"), k));
                }
                case "-c" -> a.check = true;
                case "-v" -> a.version = true;
                case "-h", "--help" -> a.help = true;
                case "-p" -> a.pidFile = path(value(args, ++i, k, "PIDFILE"), k);
                case "--handover-socket" -> a.handoverSocket = path(value(args, ++i, k, "SOCKET"), k);
                case "-x" -> a.takeFrom = path(value(args, ++i, k, "SOCKET"), k);
                case "-sf" -> {
                    if (a.softStopPids == null) {
                        a.softStopPids = new ArrayList<>();
                    }
                    int first = i + 1;
                    while (i + 1 < args.length && !args[i + 1].startsWith("-")) {
                        a.softStopPids.add(pid(args[++i]));
                    }
                    if (i < first) {
                        throw new Invalid("Missing required parameter for option '-sf' (PID)");
                    }
                }
                default -> throw new Invalid(k.startsWith("-")
                    ? "Unknown option: '" + k + "'"
                    : "Unmatched argument at index " + i + ": '" + k + "'");
            }
        }
        return a;
    }

    /**
     * The spellings picocli accepted, which units and scripts written for earlier versions use, as separate words:
     * {@code --handover-socket=PATH}, {@code -f=FILE} and {@code -fFILE} (also {@code -p}, {@code -x}); a lone
     * {@code --} (picocli's end of options) is skipped: nothing here is positional.
     */
    private static String[] split(String[] raw) {
        List<String> out = new ArrayList<>(raw.length + 2);
        for (String s : raw) {
            int eq = s.indexOf('=');
            if (s.startsWith("--") && eq > 2) {
                out.add(s.substring(0, eq));
                out.add(s.substring(eq + 1));
            } else if (s.length() > 2 && s.charAt(0) == '-' && SHORT_WITH_VALUE.indexOf(s.charAt(1)) >= 0) {
                out.add(s.substring(0, 2));
                out.add(s.charAt(2) == '=' ? s.substring(3) : s.substring(2));
            } else if (!s.equals("--")) {
                out.add(s);
            }
        }
        return out.toArray(String[]::new);
    }

    private static String value(String[] args, int i, String option, String label) throws Invalid {
        if (i >= args.length) {
            throw new Invalid("Missing required parameter for option '" + option + "' (" + label + ")");
        }
        return args[i];
    }

    private static Path path(String s, String option) throws Invalid {
        try {
            return Path.of(s);
        } catch (InvalidPathException e) {
            throw new Invalid("Invalid value for option '" + option + "': " + e.getMessage());
        }
    }

    private static long pid(String s) throws Invalid {
        try {
            long pid = Long.parseLong(s);
            if (pid > 0) {
                return pid;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new Invalid("Invalid value for option '-sf' (PID): '" + s + "' is not a process id");
    }
}
