package dev.planetary.swarm;

import dev.planetary.registry.client.CommandLines;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bin/planetary swarm spawn|list|kill|leave}: commands to the local swarm of a running {@code bin/planetary
 * up}, found through the same {@code --dir} (its socket {@code DIR/swarm.sock}). Exit 0 on success, 1 when up is not
 * running or refused the command, 2 for bad options.
 */
@Command(name = "planetary swarm", sortOptions = false,
    description = "Drive the local swarm of a running `bin/planetary up`.",
    subcommands = {SwarmMain.Spawn.class, SwarmMain.ListVms.class, SwarmMain.Kill.class, SwarmMain.Leave.class})
public final class SwarmMain implements Callable<Integer> {

    static final String USAGE = "usage: bin/planetary swarm spawn --count N | list | kill ID...|--count N | "
        + "leave ID...|--count N  [--dir DIR]";

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    public static void main(String[] args) {
        CommandLines.logToStderr();
        System.exit(CommandLines.run(new SwarmMain(), "swarm", USAGE, args, System.out, System.err));
    }

    @Override
    public Integer call() {
        System.err.println(USAGE);
        return 2;
    }

    /** Sends one command line to up and copies its answer to stdout; 1 when the answer is an error. */
    static int send(Path dir, String command, PrintStream out, PrintStream err) throws IOException {
        Path sock = dir.toAbsolutePath().normalize().resolve("swarm.sock");
        if (!Files.exists(sock)) {
            err.println("planetary swarm: no running `bin/planetary up` in " + dir + " (no " + sock + "); start it "
                + "first, or give its --dir");
            return 1;
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sock));
            ch.write(ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.UTF_8)));
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch),
                StandardCharsets.UTF_8));
            int code = 0;
            for (String line; (line = in.readLine()) != null; ) {
                if (line.startsWith("error: ")) {
                    err.println("planetary swarm: " + line.substring(7));
                    code = 1;
                } else {
                    out.println(line);
                }
            }
            return code;
        } catch (java.net.SocketException e) {
            err.println("planetary swarm: cannot reach up through " + sock + ": " + e.getMessage()
                + " (is it still running?)");
            return 1;
        }
    }

    abstract static class DirOption {
        @Option(names = "--dir", paramLabel = "DIR", description = "up's state directory (default ./planetary-up).")
        Path dir = Path.of("planetary-up");
    }

    @Command(name = "spawn", description = "Add N VMs to the swarm; returns once each answers through the proxy.")
    static final class Spawn extends DirOption implements Callable<Integer> {
        @Option(names = "--count", paramLabel = "N", required = true, description = "How many (1..2000).")
        int count;

        @Override
        public Integer call() throws IOException {
            return send(dir, "spawn " + count, System.out, System.err);
        }
    }

    @Command(name = "list", description = "The local VMs: id, instance key, address, agent state, gateway ports.")
    static final class ListVms extends DirOption implements Callable<Integer> {
        @Override
        public Integer call() throws IOException {
            return send(dir, "list", System.out, System.err);
        }
    }

    abstract static class Stop extends DirOption implements Callable<Integer> {
        @Option(names = "--count", paramLabel = "N", description = "The N newest VMs.")
        Integer count;
        @Parameters(paramLabel = "ID", arity = "0..*", description = "VM ids (vm_...) or instance keys (vm-0001).")
        List<String> ids = new ArrayList<>();

        abstract String verb();

        @Override
        public Integer call() throws IOException {
            if ((count == null) == ids.isEmpty()) {
                System.err.println("planetary swarm " + verb() + ": give VM ids or --count N (one of them)");
                return 2;
            }
            for (String id : ids) {
                if (!id.matches("[A-Za-z0-9._:-]{1,128}")) {
                    System.err.println("planetary swarm " + verb() + ": '" + id + "' is not a VM id");
                    return 2;
                }
            }
            return send(dir, verb() + " " + (count != null ? "--count " + count : String.join(" ", ids)),
                System.out, System.err);
        }
    }

    @Command(name = "kill", description = "Stop VMs as a crash would (no leave): Genesis expires them after its TTL.")
    static final class Kill extends Stop {
        @Override
        String verb() {
            return "kill";
        }
    }

    @Command(name = "leave", description = "VMs leave gracefully: Genesis drains them, then removes them.")
    static final class Leave extends Stop {
        @Override
        String verb() {
            return "leave";
        }
    }
}
