package dev.planetary.registry.client;

import io.netty.util.NetUtil;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code planetary agent}: the VM side of Genesis for images that want no Java code of their own. Registers, heartbeats,
 * registers again after a 404, rides out a Genesis restart, and on SIGTERM or SIGINT leaves and exits 0. Exit codes:
 * 0 after a signal, 1 when it cannot start (token file unreadable), 2 for bad options.
 */
@Command(name = "planetary agent", sortOptions = false, version = "Planetary agent 0.1.0",
    description = "Registers this VM with Genesis and keeps it registered until SIGTERM (then it leaves).")
public final class AgentMain implements Callable<Integer> {

    @Option(names = "--genesis", paramLabel = "URL", required = true, split = ",", description = "Genesis base URL, "
        + "e.g. http://10.0.0.1:9000 (its --vm-listen address). Repeat it (or separate with commas) for a fail-over "
        + "list: a Genesis down or answering 5xx hands each request to the next.")
    List<String> genesis = new ArrayList<>();

    @Option(names = "--token-file", paramLabel = "FILE", required = true, description = "File holding the join "
        + "token (GENESIS_TOKEN); keep it mode 0600.")
    Path tokenFile;

    @Option(names = "--secret-file", paramLabel = "FILE", description = "Where to keep the VM's secret (Genesis gives "
        + "it at the first registration; written mode 0600). An agent restarted on the same VM then keeps its "
        + "identity with it. Without it the secret is kept in memory only.")
    Path secretFile;

    @Option(names = "--instance", paramLabel = "KEY", required = true, description = "This VM's key, kept across "
        + "reboots (1..128 of A-Za-z0-9._:-): it gets its id and ports back when it registers again.")
    String instance;

    @Option(names = "--cores", paramLabel = "N", required = true, description = "pCPU cores this VM offers (1..1024).")
    int cores;

    @Option(names = "--address", paramLabel = "IP", description = "This VM's address: the agent connects from it, so "
        + "it is the address Genesis records and the proxy uses (pick one on a multi-homed VM). Default: the "
        + "kernel's choice of source address.")
    String address;

    @Option(names = "--service", paramLabel = "NAME=PORT", description = "A service this VM listens on, e.g. "
        + "pcpu=7000. Repeatable.")
    List<String> services = new ArrayList<>();

    @Option(names = "--label", paramLabel = "KEY=VALUE", description = "A label, e.g. zone=a. Repeatable.")
    List<String> labels = new ArrayList<>();

    @Option(names = "--memory-mb", paramLabel = "N", description = "Memory this VM offers, in MiB.")
    Long memoryMb;

    @Option(names = "--storage-bytes", paramLabel = "N", description = "Storage this VM offers, in bytes.")
    Long storageBytes;

    @Option(names = {"-v", "--version"}, versionHelp = true, description = "Print the version and exit.")
    boolean version;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    private final PrintStream out;
    private final PrintStream err;

    AgentMain(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        CommandLines.logToStderr();
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        return CommandLines.run(new AgentMain(out, err), "agent",
            "Usage: planetary agent --genesis URL[,URL...] --token-file FILE --instance KEY --cores N "
            + "[--address IP] [--secret-file FILE] [--service NAME=PORT ...] (see --help)", args, out, err);
    }

    @Override
    public Integer call() {
        AgentOptions options;
        try {
            AgentOptions.Builder b = AgentOptions.builder().cores(cores).instance(instance);
            List<URI> urls = new ArrayList<>();
            for (String g : genesis) {
                try {
                    if (urls.contains(new URI(g))) {
                        throw new IllegalArgumentException("option --genesis: '" + SseDecoder.printable(g) + "' is "
                            + "listed twice");
                    }
                    urls.add(new URI(g));
                } catch (java.net.URISyntaxException e) {
                    throw new IllegalArgumentException("option --genesis: '" + SseDecoder.printable(g) + "' is not a "
                        + "URL: " + e.getReason());
                }
            }
            b.genesis(urls);
            for (Map.Entry<String, String> e : pairs("--service", services).entrySet()) {
                int port;
                try {
                    port = Integer.parseInt(e.getValue());
                } catch (NumberFormatException x) {
                    throw new IllegalArgumentException("option --service " + e.getKey() + "=" + e.getValue()
                        + ": the port must be a number 1..65535");
                }
                b.service(e.getKey(), port);
            }
            pairs("--label", labels).forEach(b::label);
            if (memoryMb != null) {
                b.memoryMb(memoryMb);
            }
            if (storageBytes != null) {
                b.storageBytes(storageBytes);
            }
            if (address != null) {
                b.address(localAddress(address));
            }
            b.token(token(tokenFile));
            b.secretFile(secretFile);
            options = b.build();
        } catch (IllegalArgumentException e) {
            err.println("planetary agent: " + e.getMessage());
            return 2;
        } catch (IOException e) {
            err.println("planetary agent: cannot read the token file " + tokenFile + ": "
                + (e instanceof java.nio.file.NoSuchFileException ? "no such file"
                : e instanceof java.nio.file.AccessDeniedException ? "permission denied" : e.getMessage()));
            return 1;
        }
        CountDownLatch stop = new CountDownLatch(1);
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), s -> stop.countDown());
        }
        Agent agent = Agent.start(options);
        try {
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        agent.close();
        return 0;
    }

    private static Map<String, String> pairs(String option, List<String> items) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String s : items) {
            int eq = s.indexOf('=');
            if (eq <= 0 || eq == s.length() - 1) {
                throw new IllegalArgumentException("option " + option + ": '" + SseDecoder.printable(s) + "' must be "
                    + "NAME=VALUE");
            }
            if (m.put(s.substring(0, eq), s.substring(eq + 1)) != null) {
                throw new IllegalArgumentException("option " + option + ": '" + s.substring(0, eq) + "' given twice");
            }
        }
        return m;
    }

    /** An IP literal (never a host name: no DNS) that belongs to this machine. */
    static InetAddress localAddress(String text) {
        byte[] raw = NetUtil.createByteArrayFromIpAddressString(text);
        if (raw == null) {
            throw new IllegalArgumentException("option --address: '" + SseDecoder.printable(text) + "' is not an IP "
                + "address");
        }
        try {
            InetAddress a = InetAddress.getByAddress(raw);
            if (!a.isLoopbackAddress() && NetworkInterface.getByInetAddress(a) == null) {
                throw new IllegalArgumentException("option --address: " + text + " is not an address of this machine "
                    + "(the agent connects from it)");
            }
            return a;
        } catch (java.net.UnknownHostException | SocketException e) {
            throw new IllegalArgumentException("option --address: " + text + ": " + e.getMessage());
        }
    }

    private String token(Path file) throws IOException {
        String t = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (t.isEmpty()) {
            throw new IllegalArgumentException("the token file " + file + " is empty");
        }
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.contains(PosixFilePermission.OTHERS_READ) || perms.contains(PosixFilePermission.GROUP_READ)) {
                err.println("planetary agent: warning: the token file " + file + " is readable by others; "
                    + "chmod 600 it");
            }
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: nothing to check
        }
        return t;
    }
}
