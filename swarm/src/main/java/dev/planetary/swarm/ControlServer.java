package dev.planetary.swarm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How {@code bin/planetary swarm ...} reaches a running {@code up}: a Unix socket {@code DIR/swarm.sock} (mode 0600:
 * only the user who ran {@code up}), one command line per connection, answered with text lines, then closed.
 * Commands: {@code spawn N}, {@code list}, {@code kill NAME...}, {@code kill --count N}, {@code leave NAME...},
 * {@code leave --count N}. One command at a time, on one daemon thread.
 */
final class ControlServer implements AutoCloseable {

    /** Longest command line accepted: a kill of many ids by name. */
    static final int MAX_LINE = 64 * 1024;

    private final SwarmHost host;
    private final Path path;
    private final ServerSocketChannel server;
    private final Thread thread;

    private ControlServer(SwarmHost host, Path path, ServerSocketChannel server) {
        this.host = host;
        this.path = path;
        this.server = server;
        this.thread = new Thread(this::serve, "swarm-control");
        this.thread.setDaemon(true);
    }

    /** Binds {@code path} (a stale socket from a run that died is replaced: {@code up} checked its pid first). */
    static ControlServer start(SwarmHost host, Path path) throws IOException {
        Files.deleteIfExists(path);
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(UnixDomainSocketAddress.of(path));
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        ControlServer c = new ControlServer(host, path, s);
        c.thread.start();
        return c;
    }

    private void serve() {
        while (server.isOpen()) {
            try (SocketChannel ch = server.accept()) {
                BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch),
                    StandardCharsets.UTF_8));
                PrintWriter out = new PrintWriter(Channels.newOutputStream(ch), true, StandardCharsets.UTF_8);
                String line = readLine(in);
                try {
                    handle(line == null ? "" : line.trim(), out);
                } catch (IllegalArgumentException | IllegalStateException e) {
                    out.println("error: " + e.getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (IOException | RuntimeException e) {
                    out.println("error: " + e);
                }
            } catch (IOException e) {
                if (!server.isOpen()) {
                    return;
                }
            }
        }
    }

    private static String readLine(BufferedReader in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c; (c = in.read()) != -1 && c != '\n'; ) {
            if (b.length() >= MAX_LINE) {
                throw new IOException("command line longer than " + MAX_LINE);
            }
            b.append((char) c);
        }
        return b.toString();
    }

    void handle(String line, PrintWriter out) throws IOException, InterruptedException {
        List<String> w = new ArrayList<>(List.of(line.split("\\s+")));
        String cmd = w.isEmpty() ? "" : w.remove(0).toLowerCase(Locale.ROOT);
        switch (cmd) {
            case "spawn" -> spawn(w, out);
            case "list" -> list(out);
            case "kill", "leave" -> stop(cmd, w, out);
            default -> throw new IllegalArgumentException("unknown command '" + cmd
                + "' (spawn N, list, kill NAME...|--count N, leave NAME...|--count N)");
        }
    }

    private void spawn(List<String> w, PrintWriter out) throws IOException, InterruptedException {
        if (w.size() != 1) {
            throw new IllegalArgumentException("spawn needs a count");
        }
        int n = parseCount(w.get(0));
        if (n < 1 || n > SwarmHost.MAX_SPAWN) {
            throw new IllegalArgumentException("--count must be 1.." + SwarmHost.MAX_SPAWN + ", not " + n);
        }
        long rss0 = SwarmHost.rssBytes();
        long t0 = System.nanoTime();
        List<LocalVm> vms = host.spawn(n);
        long started = (System.nanoTime() - t0) / 1_000_000;
        out.printf("started %d VMs (%s .. %s) in %.1f s; waiting until each answers through the proxy...%n",
            vms.size(), vms.get(0).instance(), vms.get(vms.size() - 1).instance(), started / 1000.0);
        host.awaitRoutable(vms, SwarmHost.ROUTABLE_TIMEOUT);
        long total = (System.nanoTime() - t0) / 1_000_000;
        long rss1 = SwarmHost.rssBytes();
        out.printf("all %d new VMs routable %.1f s after the spawn; swarm: %d VMs; host RSS %d MB -> %d MB "
                + "(%.2f MB per VM), %d descriptors, %d threads%n", vms.size(), total / 1000.0, host.vms().size(),
            rss0 >> 20, rss1 >> 20, (rss1 - rss0) / 1048576.0 / vms.size(), SwarmHost.openDescriptors(),
            Thread.activeCount());
    }

    private void list(PrintWriter out) {
        List<LocalVm> vms = host.vms();
        out.printf("%d local VMs in pid %d (RSS %d MB, %d descriptors, %d threads)%n", vms.size(),
            ProcessHandle.current().pid(), SwarmHost.rssBytes() >> 20, SwarmHost.openDescriptors(),
            Thread.activeCount());
        out.printf("%-10s %-9s %-13s %-11s %-6s %-7s %s%n", "ID", "INSTANCE", "ADDRESS", "STATE", "PCPU", "PFSSHFS",
            "TRANSFER");
        for (LocalVm v : vms) {
            var a = v.agent();
            java.util.Map<String, Integer> p = a == null ? java.util.Map.of() : a.ports();
            out.printf("%-10s %-9s %-13s %-11s %-6s %-7s %s%n", v.id(), v.instance(), v.address(),
                a == null ? "-" : a.state().name().toLowerCase(Locale.ROOT), port(p, "pcpu"), port(p, "pfsshfs"),
                port(p, "transfer"));
        }
    }

    private static String port(java.util.Map<String, Integer> ports, String kind) {
        Integer p = ports.get(kind);
        return p == null ? "-" : p.toString();
    }

    private void stop(String cmd, List<String> w, PrintWriter out) throws IOException {
        List<LocalVm> chosen;
        if (w.size() == 2 && w.get(0).equals("--count")) {
            int n = parseCount(w.get(1));
            if (n < 1) {
                throw new IllegalArgumentException("--count must be a positive number");
            }
            chosen = host.select(List.of(), n);
        } else if (!w.isEmpty() && !w.get(0).isEmpty() && !w.contains("--count")) {
            chosen = host.select(w, 0);
        } else {
            throw new IllegalArgumentException(cmd + " needs VM ids (or instance keys) or --count N");
        }
        if (cmd.equals("kill")) {
            host.kill(chosen);
        } else {
            host.leave(chosen);
        }
        for (LocalVm v : chosen) {
            out.println((cmd.equals("kill") ? "killed " : "left ") + v.id() + " " + v.instance() + " "
                + v.address());
        }
        out.println(cmd.equals("kill")
            ? chosen.size() + " VMs killed (no leave): Genesis expires them after its TTL, the proxy then drops them"
            : chosen.size() + " VMs left: Genesis drains them (no new connections), then removes them");
    }

    private static int parseCount(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + s + "' is not a count");
        }
    }

    @Override
    public void close() {
        try {
            server.close();
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // the directory is going away or read-only: nothing more to do
        }
    }
}
