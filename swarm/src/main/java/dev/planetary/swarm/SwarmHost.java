package dev.planetary.swarm;

import dev.planetary.registry.client.AgentOptions;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The local swarm: many {@link LocalVm}s in this one JVM, sharing one event loop group. Measured on a 2-core,
 * 24 GiB machine (README "Tour"): a VM in its own JVM (the agent jar plus its services) costs tens of MB of RSS, so
 * 1,000 of them do not fit in memory, while here a VM costs well under 1 MB plus one agent thread; the descriptors
 * (3 listeners and the agent's event loop per VM) stay far below the 20,000 limit at the port plan's cap of 1,999 VMs.
 *
 * <p>Which VMs exist is kept in {@code DIR/swarm/vms} (one instance key per line), so the next {@code up} on the same
 * directory starts the same VMs, and Genesis gives each its id and ports back. Not thread-safe on its own: the
 * control server and {@code up} call it under its monitor.
 */
final class SwarmHost implements AutoCloseable {

    /** Event loops for every VM's services: the local VMs answer small requests, two threads serve them all. */
    static final int SERVICE_THREADS = 2;
    /** The most VMs one spawn adds: the port plan caps the swarm at 1,999 anyway. */
    static final int MAX_SPAWN = 2_000;
    /** How long a VM may take from its agent's start to answering through the proxy on its pinned pcpu port. */
    static final Duration ROUTABLE_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    private final Path dir;
    private final Path vmsFile;
    private final URI genesis;
    private final String token;
    private final SshSetup ssh;
    private final Traffic traffic = new Traffic();
    private final EventLoopGroup group;
    private final Class<? extends ServerChannel> channel;
    private final Map<String, LocalVm> vms = new LinkedHashMap<>(); // by instance key, in spawn order

    SwarmHost(Path dir, URI genesis, String token, SshSetup ssh) throws IOException {
        this.dir = dir;
        this.vmsFile = Files.createDirectories(dir.resolve("swarm")).resolve("vms");
        this.genesis = genesis;
        this.token = token;
        this.ssh = ssh;
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory f = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.group = new MultiThreadIoEventLoopGroup(SERVICE_THREADS, new DefaultThreadFactory("vm-services", true), f);
        this.channel = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    Traffic traffic() {
        return traffic;
    }

    SshSetup ssh() {
        return ssh;
    }

    synchronized List<LocalVm> vms() {
        return List.copyOf(vms.values());
    }

    /** The instance keys of the previous run in this directory. */
    List<String> persisted() throws IOException {
        if (!Files.exists(vmsFile)) {
            return List.of();
        }
        return Files.readAllLines(vmsFile).stream().map(String::trim).filter(s -> LocalVm.indexOf(s) >= 0).toList();
    }

    /** Starts the VMs of the previous run again (same instance keys and addresses). */
    synchronized List<LocalVm> restore(List<String> instances) throws IOException, InterruptedException {
        List<LocalVm> started = new ArrayList<>();
        for (String i : instances) {
            if (!vms.containsKey(i)) {
                started.add(startOne(LocalVm.indexOf(i)));
            }
        }
        persist();
        return started;
    }

    /**
     * Adds {@code count} VMs with the next free instance keys and addresses. Refused up front when Genesis' port plan
     * has fewer free VM slots (the limit a local swarm meets first), rather than leaving agents that Genesis answers
     * {@code 503 port range full}.
     */
    synchronized List<LocalVm> spawn(int count) throws IOException, InterruptedException {
        if (count < 1 || count > MAX_SPAWN) {
            throw new IllegalArgumentException("--count must be 1.." + MAX_SPAWN + ", not " + count);
        }
        long[] ports = portsHeldAndCapacity();
        if (ports != null && ports[0] + count > ports[1]) {
            throw new IllegalArgumentException("the port plan holds at most " + ports[1] + " VMs and " + ports[0]
                + " hold ports now (removed VMs keep theirs during Genesis' grace period): spawn at most "
                + Math.max(0, ports[1] - ports[0]));
        }
        int next = vms.values().stream().mapToInt(LocalVm::index).max().orElse(-1) + 1;
        for (String i : persisted()) {
            next = Math.max(next, LocalVm.indexOf(i) + 1);
        }
        List<LocalVm> started = new ArrayList<>();
        try {
            for (int k = 0; k < count; k++) {
                started.add(startOne(next + k));
            }
        } finally {
            persist();
        }
        return started;
    }

    /** Genesis' {@code ports_held} and {@code ports_capacity} from /api/health; null when it does not say. */
    private long[] portsHeldAndCapacity() throws IOException, InterruptedException {
        java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().connectTimeout(PROBE_TIMEOUT).build();
        java.net.http.HttpResponse<String> r = http.send(java.net.http.HttpRequest.newBuilder(
            genesis.resolve("/api/health")).timeout(PROBE_TIMEOUT).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
        com.fasterxml.jackson.databind.JsonNode n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body());
        if (r.statusCode() != 200 || !n.path("ports_held").isNumber() || !n.path("ports_capacity").isNumber()) {
            return null;
        }
        return new long[] {n.get("ports_held").asLong(), n.get("ports_capacity").asLong()};
    }

    private LocalVm startOne(int index) throws IOException, InterruptedException {
        LocalVm vm = new LocalVm(index);
        AgentOptions.Builder b = AgentOptions.builder().genesis(genesis).token(token).cores(1)
            .label("swarm", "local");
        Process sshd = ssh == null ? null : ssh.start(vm);
        try {
            vm.start(group, channel, traffic, b, sshd);
        } catch (RuntimeException | InterruptedException e) {
            vm.kill();
            throw e;
        }
        vms.put(vm.instance(), vm);
        return vm;
    }

    /** The VMs an id, an instance key, or {@code --count N} (the newest N) names; unknown names are an error. */
    synchronized List<LocalVm> select(List<String> names, int count) {
        List<LocalVm> all = new ArrayList<>(vms.values());
        if (count > 0) {
            return List.copyOf(all.subList(Math.max(0, all.size() - count), all.size()));
        }
        List<LocalVm> chosen = new ArrayList<>();
        for (String n : names) {
            LocalVm vm = all.stream().filter(v -> v.id().equals(n) || v.instance().equals(n)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no local VM '" + n + "' (see: swarm list)"));
            chosen.add(vm);
        }
        return chosen;
    }

    /** Stops these VMs without leaving (Genesis expires them); they are not started again by the next run. */
    synchronized void kill(List<LocalVm> chosen) throws IOException {
        chosen.forEach(LocalVm::kill);
        chosen.forEach(v -> vms.remove(v.instance()));
        persist();
    }

    /** These VMs leave gracefully (Genesis drains them) and stop. */
    synchronized void leave(List<LocalVm> chosen) throws IOException {
        chosen.forEach(LocalVm::leave);
        chosen.forEach(v -> vms.remove(v.instance()));
        persist();
    }

    /**
     * Waits until every VM answers through the proxy on its own pinned pcpu port with its own id (registered in
     * Genesis, seen by the proxy, its service up); returns how long that took. Writes each id for its sshd.
     */
    long awaitRoutable(List<LocalVm> chosen, Duration timeout) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        long deadline = t0 + timeout.toNanos();
        for (LocalVm vm : chosen) {
            while (!routable(vm) || (ssh != null && !sshRoutable(vm))) {
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException(vm.instance() + " not routable through the proxy after "
                        + timeout.toSeconds() + " s (registered: " + vm.registered() + "; see DIR/logs)");
                }
                Thread.sleep(50);
            }
            if (ssh != null) {
                ssh.registered(vm);
            }
        }
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    /** One probe: a line to 127.0.0.1:PINNED_PCPU_PORT answered by this VM. */
    static boolean routable(LocalVm vm) {
        return vm.registered() && probe(vm, "pcpu", "routable?\n", vm.id() + " ");
    }

    /** With {@code --ssh}: the VM's sshd greets through the proxy on the VM's pinned pfsshfs port. */
    static boolean sshRoutable(LocalVm vm) {
        return probe(vm, "pfsshfs", null, "SSH-2.0-");
    }

    /** Connects to the VM's pinned port of {@code kind} through the proxy, sends {@code request}, checks the start. */
    private static boolean probe(LocalVm vm, String kind, String request, String expected) {
        Integer port = vm.agent().ports().get(kind);
        if (port == null) {
            return false;
        }
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), (int) PROBE_TIMEOUT.toMillis());
            s.setSoTimeout((int) PROBE_TIMEOUT.toMillis());
            if (request != null) {
                OutputStream out = s.getOutputStream();
                out.write(request.getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput();
            }
            InputStream in = s.getInputStream();
            byte[] start = in.readNBytes(expected.length());
            return new String(start, StandardCharsets.US_ASCII).equals(expected);
        } catch (IOException e) {
            return false;
        }
    }

    private void persist() throws IOException {
        Path tmp = vmsFile.resolveSibling("vms.tmp");
        Files.write(tmp, vms.keySet());
        Files.move(tmp, vmsFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Stops every VM as a crash would (no leave), keeping the list for the next run. */
    @Override
    public synchronized void close() {
        vms.values().parallelStream().forEach(LocalVm::kill);
        vms.clear();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
    }

    /** This JVM's resident memory in bytes (from /proc), or -1 where there is none. */
    static long rssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** Descriptors this JVM holds now. */
    static int openDescriptors() {
        String[] fds = Path.of("/proc/self/fd").toFile().list();
        return fds == null ? -1 : fds.length;
    }

    Path dir() {
        return dir;
    }
}
