package dev.planetary.bench.soak;

import dev.planetary.registry.client.Agent;
import dev.planetary.registry.client.AgentOptions;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The churning swarm: VMs that are echo servers on their own addresses (127.0.10.1 and up), each registered with
 * Genesis by the registry-client {@link Agent} from that address. Every churn step is one of: a new VM registers; a
 * VM leaves gracefully (its agent leaves, Genesis drains it, then the VM stops); a VM "dies" (its network is cut, so
 * heartbeats stop without a leave, and its server stops) and Genesis must expire it after its TTL. The population
 * stays within [min, max]. Every leave and expiry is checked against Genesis: the VM must be gone within its drain
 * period or TTL plus a margin. Owned by the soak's control thread.
 */
final class Swarm implements AutoCloseable {

    /**
     * Slack on top of Genesis' own period (drain or TTL) before a VM still listed counts as a failure: its reaper
     * ticks about once a second, and a loaded machine delays it by seconds, not tens of seconds.
     */
    static final Duration CONFIRM_SLACK = Duration.ofSeconds(15);
    /** Addresses cycle over 127.0.10.1 .. 127.0.13.250: a reused one's last VM has been gone for many minutes. */
    private static final int ADDRESSES = 1_000;

    private record Vm(String name, String ip, EchoServer server, Agent agent, long bornNanos) {
    }

    private record Pending(Vm vm, String id, String why, long sinceNanos, long killAtNanos, long deadlineNanos) {
    }

    final Tally churn = new Tally("churn");
    long registered;
    long left;
    long expired;
    long confirmedGone;

    private final SoakOptions o;
    private final EventLoopGroup group;
    private final Uplink uplink;
    private final URI genesis;
    private final String token;
    private final Casualties casualties;
    private final Duration ttl;
    private final Duration drain;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    private final ArrayDeque<Vm> live = new ArrayDeque<>();
    private final List<Pending> pending = new ArrayList<>();
    private int serial;
    private int step;

    Swarm(SoakOptions o, EventLoopGroup group, Uplink uplink, URI genesis, String token, Casualties casualties,
          Duration ttl, Duration drain) {
        this.o = o;
        this.group = group;
        this.uplink = uplink;
        this.genesis = genesis;
        this.token = token;
        this.casualties = casualties;
        this.ttl = ttl;
        this.drain = drain;
    }

    int size() {
        return live.size();
    }

    /** The VMs of the start. */
    void populate() throws IOException {
        for (int i = 0; i < o.vms; i++) {
            add();
        }
    }

    boolean allRegistered() {
        return live.stream().allMatch(v -> v.agent.registered());
    }

    /** One churn step: register, leave, register, expire, in turn, kept within the population's bounds. */
    void churn() throws IOException {
        int kind = step++ % 4;
        boolean grow = kind == 0 || kind == 2;
        if (grow && live.size() >= o.maxVms) {
            grow = false;
            kind = 1;
        } else if (!grow && live.size() <= o.minVms) {
            grow = true;
        }
        if (grow) {
            add();
        } else if (kind == 1) {
            leave();
        } else {
            expire();
        }
    }

    private void add() throws IOException {
        int n = serial++;
        int a = n % ADDRESSES;
        String ip = "127.0." + (10 + a / 250) + "." + (1 + a % 250);
        String name = "soak-vm-" + n;
        uplink.restore(ip);
        EchoServer server = EchoServer.start(name, ip, 0, group);
        Agent agent = Agent.start(AgentOptions.builder().genesis(uplink.url()).token(token).instance(name).cores(1)
            .service("echo", server.port()).address(InetAddress.getByName(ip))
            .requestTimeout(Duration.ofSeconds(5)).leaveTimeout(Duration.ofSeconds(5)).build());
        live.addLast(new Vm(name, ip, server, agent, System.nanoTime()));
        registered++;
    }

    /** The oldest VM that has registered (a VM not yet registered cannot be checked against Genesis). */
    private Vm oldestRegistered() {
        for (Vm v : live) {
            if (v.agent.registered() && v.agent.vmId() != null) {
                return v;
            }
        }
        return null;
    }

    private void leave() {
        Vm v = oldestRegistered();
        if (v == null) {
            return;
        }
        live.remove(v);
        String id = v.agent.vmId();
        v.agent.close(); // Genesis drains it; the proxy gives it no new connections, live ones go on
        long now = System.nanoTime();
        // the VM stops once Genesis has removed it; its connections still open then are cut (expected)
        pending.add(new Pending(v, id, "left", now, now + drain.toNanos(),
            now + drain.toNanos() + CONFIRM_SLACK.toNanos()));
        left++;
    }

    private void expire() {
        Vm v = oldestRegistered();
        if (v == null) {
            return;
        }
        live.remove(v);
        String id = v.agent.vmId();
        casualties.killing(v.name);
        uplink.cut(v.ip);      // no heartbeat, and no leave, can reach Genesis any more
        v.server.kill();       // the VM's service dies with it: listener and connections
        v.agent.close();       // its leave fails at once (the link is cut); Genesis must expire it
        long now = System.nanoTime();
        pending.add(new Pending(v, id, "expired", now, now, now + ttl.toNanos() + CONFIRM_SLACK.toNanos()));
        expired++;
    }

    /** Stops VMs whose drain is over and checks that Genesis has let go of every VM that left or died. */
    void tick() {
        long now = System.nanoTime();
        for (Iterator<Pending> it = pending.iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (p.why.equals("left") && p.vm.server.listening() && now - p.killAtNanos >= 0) {
                casualties.killing(p.vm.name);
                p.vm.server.kill();
            }
            int status = status(p.id);
            if (status == 404) {
                if (p.vm.server.listening()) {
                    casualties.killing(p.vm.name);
                    p.vm.server.kill();
                }
                confirmedGone++;
                it.remove();
            } else if (now - p.deadlineNanos >= 0) {
                churn.fail("Genesis still lists " + p.id + " (" + p.vm.name + ") " + p.why + " "
                    + TimeUnit.NANOSECONDS.toSeconds(now - p.sinceNanos) + " s ago (GET answered " + status + ")");
                casualties.killing(p.vm.name);
                p.vm.server.kill();
                it.remove();
            }
        }
    }

    /** GET /api/vms/ID's status code, or -1 when Genesis did not answer. */
    private int status(String id) {
        try {
            HttpRequest req = HttpRequest.newBuilder(genesis.resolve("/api/vms/" + id))
                .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(5)).build();
            return http.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** Every VM leaves and stops. */
    @Override
    public void close() {
        for (Vm v : live) {
            casualties.killing(v.name);
            v.agent.close();
            v.server.kill();
        }
        live.clear();
        for (Pending p : pending) {
            casualties.killing(p.vm.name);
            p.vm.server.kill();
        }
        pending.clear();
    }
}
