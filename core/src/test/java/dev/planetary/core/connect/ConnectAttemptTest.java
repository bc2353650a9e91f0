package dev.planetary.core.connect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.planetary.core.backend.Server;
import dev.planetary.core.connect.ConnectAttempt.Step;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/** Picks, retries, redispatch and the turnaround, with the time passed in and a backend made of plain lists. */
class ConnectAttemptTest {

    private static final long MS = 1_000_000L;
    private static final long T0 = -5_000 * MS; // any nanoTime origin, even a negative one, must work

    /** Members in order; picks the first usable, non-full member other than avoid (falling back to avoid). */
    private static final class Pool implements ServerPool {
        final List<Server> members = new ArrayList<>();
        int picks;
        int releases;

        @Override
        public Server pick(int sourceHash, Server avoid) {
            picks++;
            Server fallback = null;
            for (Server s : members) {
                if (s.usable() && !s.full()) {
                    if (s != avoid) {
                        return s.tryAcquire() ? s : null;
                    }
                    fallback = s;
                }
            }
            return fallback != null && fallback.tryAcquire() ? fallback : null;
        }

        @Override
        public Server reacquire(Server server) {
            return members.contains(server) && server.usable() && server.tryAcquire() ? server : null;
        }

        @Override
        public boolean anyUsable() {
            return members.stream().anyMatch(Server::usable);
        }

        @Override
        public void release(Server server) {
            releases++;
            server.release();
        }
    }

    private static Server server(String name, int maxconn) {
        return new Server(name, InetSocketAddress.createUnresolved(name, 80), 1, maxconn, false, true,
            Server.Admin.READY);
    }

    private final Pool pool = new Pool();
    private final Server a = server("a", 0);
    private final Server b = server("b", 0);

    private ConnectAttempt attempt(int retries, boolean redispatch) {
        return new ConnectAttempt(pool, new RetryPolicy(retries, redispatch, 1_000 * MS));
    }

    @Test
    void firstPickTakesASlot() {
        pool.members.add(a);
        ConnectAttempt c = attempt(3, false);
        assertThat(c.begin(42)).isEqualTo(Step.CONNECT);
        assertThat(c.target()).isSameAs(a);
        assertThat(c.sourceHash()).isEqualTo(42);
        assertThat(a.active()).isEqualTo(1);
        c.release();
        assertThat(a.active()).isZero();
        c.release(); // idempotent
        assertThat(a.active()).isZero();
    }

    @Test
    void noUsableServerOrAllFull() {
        assertThat(attempt(3, false).begin(0)).isEqualTo(Step.NO_SERVER);
        Server full = server("full", 1);
        full.tryAcquire();
        pool.members.add(full);
        assertThat(attempt(3, false).begin(0)).isEqualTo(Step.QUEUE);
    }

    @Test
    void retryToTheSameServerWaitsTheTurnaroundThenReacquires() {
        pool.members.add(a);
        ConnectAttempt c = attempt(2, false);
        c.begin(0);
        assertThat(c.failed(T0)).isEqualTo(Step.WAIT);
        assertThat(a.active()).as("no slot held while waiting").isZero();
        assertThat(c.dueNanos()).isEqualTo(T0 + 1_000 * MS);
        assertThat(c.turnaroundOver(T0 + 999 * MS)).as("a timer that fires early waits on").isEqualTo(Step.WAIT);
        assertThat(c.turnaroundOver(T0 + 1_000 * MS)).isEqualTo(Step.CONNECT);
        assertThat(c.target()).isSameAs(a);
        assertThat(a.active()).isEqualTo(1);
    }

    @Test
    void retriesRunOutAfterRetriesReattempts() {
        pool.members.add(a);
        ConnectAttempt c = attempt(2, false);
        c.begin(0);
        long now = T0;
        for (int i = 0; i < 2; i++) {
            assertThat(c.failed(now)).isEqualTo(Step.WAIT);
            now = c.dueNanos();
            assertThat(c.turnaroundOver(now)).isEqualTo(Step.CONNECT);
        }
        assertThat(c.failed(now)).isEqualTo(Step.GIVE_UP);
        assertThat(a.active()).isZero();
        assertThat(c.target()).isNull();
        assertThatThrownBy(() -> c.failed(0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void retryNeverGoesToAServerRemovedDuringTheTurnaround() {
        pool.members.add(a);
        ConnectAttempt c = attempt(3, false);
        c.begin(0);
        assertThat(c.failed(T0)).isEqualTo(Step.WAIT);
        pool.members.remove(a); // removed from the backend; still up, READY and with free slots
        pool.members.add(b);
        assertThat(c.turnaroundOver(c.dueNanos())).isEqualTo(Step.CONNECT);
        assertThat(c.target()).isSameAs(b);
        assertThat(a.active()).isZero();
    }

    @Test
    void retryToAServerDrainedMeanwhileGoesToAnother() {
        pool.members.add(a);
        pool.members.add(b);
        ConnectAttempt c = attempt(3, false);
        c.begin(0);
        assertThat(c.failed(T0)).isEqualTo(Step.WAIT);
        a.admin(Server.Admin.DRAIN);
        assertThat(c.turnaroundOver(c.dueNanos())).isEqualTo(Step.CONNECT);
        assertThat(c.target()).isSameAs(b);
    }

    @Test
    void retryWhenNothingIsLeftQueuesOrGivesUp() {
        Server one = server("one", 1);
        pool.members.add(one);
        ConnectAttempt c = attempt(3, false);
        c.begin(0);
        c.failed(T0);
        one.tryAcquire(); // someone else took its only slot meanwhile
        assertThat(c.turnaroundOver(c.dueNanos())).isEqualTo(Step.QUEUE);
        one.release();
        pool.members.clear();
        ConnectAttempt d = attempt(3, false);
        pool.members.add(one);
        d.begin(0);
        d.failed(T0);
        pool.members.clear();
        assertThat(d.turnaroundOver(d.dueNanos())).isEqualTo(Step.NO_SERVER);
    }

    @Test
    void redispatchGoesToAnotherServerAtOnce() {
        pool.members.add(a);
        pool.members.add(b);
        ConnectAttempt c = attempt(3, true);
        c.begin(0);
        assertThat(c.target()).isSameAs(a);
        assertThat(c.failed(T0)).isEqualTo(Step.CONNECT);
        assertThat(c.target()).isSameAs(b);
        assertThat(a.active()).isZero();
        assertThat(b.active()).isEqualTo(1);
    }

    @Test
    void redispatchWithASingleServerWaitsTheTurnaround() {
        pool.members.add(a);
        ConnectAttempt c = attempt(2, true);
        c.begin(0);
        assertThat(c.failed(T0)).as("the only candidate is the server that failed").isEqualTo(Step.WAIT);
        assertThat(a.active()).as("its slot is not held during the wait").isZero();
        assertThat(c.target()).isNull();
        assertThat(c.turnaroundOver(c.dueNanos())).isEqualTo(Step.CONNECT);
        assertThat(c.target()).isSameAs(a);
        assertThat(c.failed(c.dueNanos())).isEqualTo(Step.WAIT);
        assertThat(c.turnaroundOver(c.dueNanos())).isEqualTo(Step.CONNECT);
        assertThat(c.failed(c.dueNanos())).isEqualTo(Step.GIVE_UP);
        assertThat(a.active()).isZero();
        assertThat(pool.releases).isEqualTo(pool.picks);
    }

    @Test
    void redispatchAfterTheTurnaroundPrefersAServerThatCameBack() {
        pool.members.add(a);
        b.up(false);
        pool.members.add(b);
        ConnectAttempt c = attempt(2, true);
        c.begin(0);
        assertThat(c.failed(T0)).isEqualTo(Step.WAIT);
        b.up(true);
        assertThat(c.turnaroundOver(c.dueNanos())).isEqualTo(Step.CONNECT);
        assertThat(c.target()).isSameAs(b);
    }

    @Test
    void queueAssignmentIsReleasedAtTheEnd() {
        ConnectAttempt c = attempt(0, false);
        a.tryAcquire();
        c.assigned(a);
        assertThat(c.failed(T0)).isEqualTo(Step.GIVE_UP);
        assertThat(a.active()).isZero();
    }

    @Test
    void policyFromConfigTakesTheShorterOfOneSecondAndTimeoutConnect() {
        assertThat(policy(300).turnaroundNanos()).isEqualTo(300 * MS);
        assertThat(policy(5_000).turnaroundNanos()).isEqualTo(RetryPolicy.TURNAROUND_MS * MS);
        assertThat(policy(0).turnaroundNanos()).as("no timeout connect").isEqualTo(RetryPolicy.TURNAROUND_MS * MS);
    }

    private static RetryPolicy policy(long connectMs) {
        return RetryPolicy.of(new dev.planetary.core.config.BackendConfig("b",
            dev.planetary.core.config.BalanceAlgorithm.ROUNDROBIN, dev.planetary.core.config.HashType.MAP_BASED,
            connectMs, 0, 0, 0, 3, false, List.of(), new dev.planetary.core.config.Origin("t", 1)));
    }
}
