package dev.planetary.registry.client.haproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.client.Agent;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Companion mode end to end with the real HAProxy 2.6 and a real Genesis: VMs register and take traffic through
 * HAProxy with no reload, leave and stop taking new connections, pinned ports reach their VM, a killed HAProxy gets
 * the whole view again, and HAProxy keeps routing while Genesis is down.
 */
class HaproxySyncTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration RESYNC = Duration.ofMillis(200);

    @TempDir
    Path dir;
    Companion c;

    @BeforeAll
    static void haproxyInstalled() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of(Companion.HAPROXY))
            || Companion.HAPROXY.equals("haproxy"), "haproxy 2.6 is needed");
    }

    @AfterEach
    void tearDown() {
        if (c != null) {
            c.close();
        }
    }

    private static Set<String> namesAt(int port, int connections) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < connections; i++) {
            seen.add(Companion.ask(port));
        }
        return seen;
    }

    @Test
    void vmsJoinLeaveAndPinThroughHaproxyWithoutAReload() throws Exception {
        c = new Companion(dir, 10, Duration.ofMillis(500));
        long pid = c.haproxy.pid();
        c.startSync(RESYNC);
        Companion.Vm a = c.vm("a", "127.0.0.21");
        Companion.Vm b = c.vm("b", "127.0.0.22");
        Agent aa = c.register(a);
        Agent ab = c.register(b);
        await().atMost(WAIT).until(() -> aa.registered() && ab.registered());

        // both take traffic at the entrance (leastconn: round robin among idle servers)
        await().atMost(WAIT).until(() -> namesAt(c.entrance(), 6).equals(Set.of("a", "b")));
        // each VM's pinned port reaches that VM, whoever else is there
        int pinA = aa.ports().get("pcpu");
        int pinB = ab.ports().get("pcpu");
        await().atMost(WAIT).until(() -> Companion.ask(pinA).equals("a") && Companion.ask(pinB).equals("b"));
        assertThat(namesAt(pinA, 5)).containsExactly("a");
        // pfsshfs (balance source, consistent hashing): one client address always reaches the same VM, and its pinned
        // ports go to the VM's ssh service
        await().atMost(WAIT).until(() -> Set.of("a", "b").containsAll(namesAt(c.pfsshfsEntrance(), 1))
            && !Companion.ask(c.pfsshfsEntrance()).isEmpty());
        assertThat(namesAt(c.pfsshfsEntrance(), 6)).hasSize(1);
        assertThat(Companion.ask(aa.ports().get("pfsshfs"))).isEqualTo("a");
        assertThat(Companion.ask(ab.ports().get("pfsshfs"))).isEqualTo("b");
        // a port of the range that no VM holds is closed
        int free = c.entrance() + 1;
        while (free == pinA || free == pinB) {
            free++;
        }
        assertThat(Companion.ask(free)).isEmpty();
        String state = c.cli("show servers state pcpu");
        assertThat(state).contains(aa.vmId() + " 127.0.0.21").contains(ab.vmId() + " 127.0.0.22");

        // b leaves: draining in Genesis -> drain in HAProxy: no new connection, its pinned port closes
        ab.close();
        await().atMost(WAIT).until(() -> namesAt(c.entrance(), 6).equals(Set.of("a")));
        await().atMost(WAIT).until(() -> Companion.ask(pinB).isEmpty());
        // then Genesis removes it (drain period 500 ms) and so does HAProxy
        await().atMost(WAIT).until(() -> !c.cli("show servers state pcpu").contains(ab.vmId()));
        assertThat(c.cli("show map " + c.pins)).doesNotContain(Integer.toString(pinB) + " ");
        assertThat(Files.readString(c.pins)).contains(pinA + " 127.0.0.21/" + a.port())
            .doesNotContain(pinB + " ");

        assertThat(c.haproxyPid()).as("never reloaded or restarted").isEqualTo(pid);
        assertThat(c.haproxy.process().isAlive()).isTrue();
        assertThat(c.sync.restartsSeen()).isZero();
    }

    @Test
    void aKilledHaproxyGetsTheWholeViewAgainAndGenesisDownKeepsRouting() throws Exception {
        c = new Companion(dir, 10, Duration.ofMillis(500));
        c.startSync(RESYNC);
        Companion.Vm a = c.vm("a", "127.0.0.31");
        Agent aa = c.register(a);
        await().atMost(WAIT).until(aa::registered);
        int pinA = aa.ports().get("pcpu");
        await().atMost(WAIT).until(() -> Companion.ask(c.entrance()).equals("a") && Companion.ask(pinA).equals("a"));

        // HAProxy killed (no goodbye) and started again from the same file: empty backends, pid changes
        c.killHaproxy();
        assertThat(Companion.ask(c.entrance())).isEmpty();
        // the map file the sync keeps gives the new process the pins before anything is sent
        c.startHaproxy();
        await().atMost(WAIT).until(() -> Companion.ask(pinA).equals("a"));
        await().atMost(WAIT).until(() -> c.sync.restartsSeen() >= 1);
        await().atMost(WAIT).until(() -> Companion.ask(c.entrance()).equals("a"));
        assertThat(c.cli("show servers state pcpu")).contains(aa.vmId() + " 127.0.0.31");

        // Genesis down: HAProxy keeps its servers (static stability), passes go on
        c.stopGenesis();
        long passes = c.sync.passes();
        await().atMost(WAIT).until(() -> c.sync.passes() >= passes + 5);
        assertThat(namesAt(c.entrance(), 5)).containsExactly("a");
        assertThat(namesAt(pinA, 3)).containsExactly("a");

        // Genesis back: a new VM is routed too, the first one still is
        c.startGenesis();
        Companion.Vm b = c.vm("b", "127.0.0.32");
        Agent ab = c.register(b);
        await().atMost(WAIT).until(ab::registered);
        await().atMost(WAIT).until(() -> namesAt(c.entrance(), 6).equals(Set.of("a", "b")));
    }

    @Test
    void aReloadedHaproxyGetsTheWholeViewAgain() throws Exception {
        c = new Companion(dir, 10, Duration.ofMillis(500), true);
        c.startSync(RESYNC);
        Companion.Vm a = c.vm("a", "127.0.0.61");
        Agent aa = c.register(a);
        await().atMost(WAIT).until(() -> aa.registered() && Companion.ask(c.entrance()).equals("a"));
        await().atMost(WAIT).until(() -> c.sync.appliedVersion() >= 1);
        long worker = c.haproxyPid();
        assertThat(worker).as("show info names the worker, not the master").isNotEqualTo(c.haproxy.pid());

        // a reload parses haproxy.cfg again: the new worker starts with empty backends
        c.reloadHaproxy();
        await().atMost(WAIT).until(() -> c.haproxyPid() != worker);
        await().atMost(WAIT).until(() -> c.sync.restartsSeen() >= 1);
        await().atMost(WAIT).until(() -> Companion.ask(c.entrance()).equals("a"));
        assertThat(c.cli("show servers state pcpu")).contains(aa.vmId() + " 127.0.0.61");
        assertThat(Companion.ask(aa.ports().get("pcpu"))).isEqualTo("a");
        assertThat(c.haproxy.process().isAlive()).as("the master lives on").isTrue();
    }

    @Test
    void aServerWithLiveConnectionsIsDeletedWhenTheyEndAndTheRefusalIsLoggedOnce() throws Exception {
        c = new Companion(dir, 10, Duration.ofMillis(300));
        c.startSync(RESYNC);
        Companion.Vm a = c.vm("a", "127.0.0.41");
        Companion.Vm b = c.vm("b", "127.0.0.42");
        Agent aa = c.register(a);
        Agent ab = c.register(b);
        await().atMost(WAIT).until(() -> aa.registered() && ab.registered());
        await().atMost(WAIT).until(() -> namesAt(c.entrance(), 6).equals(Set.of("a", "b")));
        // a live session to b's server through the entrance; b's echo server holds it until we close it
        Socket held = null;
        for (int i = 0; i < 20 && held == null; i++) {
            Socket s = new Socket("127.0.0.1", c.entrance());
            s.setSoTimeout(5000);
            if (s.getInputStream().read() == 'b') {
                held = s;
            } else {
                s.close();
            }
        }
        assertThat(held).as("leastconn gives b one of 20 connections").isNotNull();
        try (Socket h = held) {
            long refusals = c.sync.refusals();
            ab.close(); // draining, removed by Genesis 300 ms later
            await().atMost(WAIT).until(() -> c.sync.refusals() > refusals);
            // del server needs no connection: refused with HAProxy's answer, once, while passes go on
            long passes = c.sync.passes();
            await().atMost(WAIT).until(() -> c.sync.passes() >= passes + 5);
            assertThat(c.sync.refusals()).as("logged once, not per pass").isEqualTo(refusals + 1);
            assertThat(c.cli("show servers state pcpu")).contains(ab.vmId());
            // the live session still flows (drain and maint close nothing)
            h.getOutputStream().write('x');
            assertThat(namesAt(c.entrance(), 4)).containsExactly("a");
        }
        // its last connection closed: deleted at the next pass
        await().atMost(WAIT).until(() -> !c.cli("show servers state pcpu").contains(ab.vmId()));
        assertThat(c.cli("show servers state pcpu")).contains(aa.vmId());
    }

    @Test
    void anIdlePassChangesNothing() throws Exception {
        c = new Companion(dir, 10, Duration.ofMillis(500));
        c.startSync(RESYNC);
        Companion.Vm a = c.vm("a", "127.0.0.51");
        Agent aa = c.register(a);
        await().atMost(WAIT).until(() -> aa.registered() && Companion.ask(c.entrance()).equals("a"));
        await().atMost(WAIT).until(() -> c.sync.appliedVersion() >= 1);
        long changes = c.sync.changes();
        long passes = c.sync.passes();
        await().atMost(WAIT).until(() -> c.sync.passes() >= passes + 5);
        assertThat(c.sync.changes()).as("nothing to change: nothing sent").isEqualTo(changes);
        assertThat(c.sync.refusals()).isZero();
    }
}
