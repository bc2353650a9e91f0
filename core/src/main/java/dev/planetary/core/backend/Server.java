package dev.planetary.core.backend;

import dev.planetary.core.config.Addresses;
import dev.planetary.core.config.SendProxy;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * One upstream server of a backend: its identity, its weight and states, and its live connection count.
 *
 * <p><b>Two drain sources.</b> The operator's {@link #admin()} state (runtime API: ready, drain, maint) and the
 * registry's {@link #discoveryDrain()} flag (a VM draining in Genesis, set by {@link Backend}'s replace with a drain
 * set) are kept apart, as HAProxy keeps its forced ({@code SRV_ADMF_FDRAIN}) and resolver/inherited drain flags
 * apart: each writer sets and clears only its own, so the registry ending its drain never undoes the operator's and
 * the operator's {@code ready} never ends the registry's. A server takes new connections only when neither holds
 * it; {@link #effectiveAdmin()} is the one state to show for both.
 *
 * <p>Identity (name, address, backup, maxconn, send-proxy) is final. Weight, health and admin state are written only
 * by the owner of the backend that holds the server (its control thread, see {@link Backend#apply}) and read by event
 * loops; the connection count is live state, changed by event loops through {@link #tryAcquire()} /
 * {@link #release()} without locks, and read by the balancers (leastconn) rather than copied into them. A Server
 * object keeps its count when the backend's server list is swapped, so connections that outlive a removal still
 * release the right counter. It holds no pointer into any balancer.
 */
public final class Server {

    /** Admin state, as HAProxy's {@code set server ... state ready|drain|maint}. */
    public enum Admin { READY, DRAIN, MAINT }

    private final String name;
    /**
     * The IP literal a {@link #atLiteral} server was made for, else null (the address was given made). Its address
     * object is then made on first use ({@link #address()}): a relist of a whole swarm makes thousands of servers at
     * once, most of which get no connection before the next relist, and every object a relist keeps is copied by
     * the young collections during it (issue 8).
     */
    private final String literal;
    private final int port;
    /** Made on first use for a literal server (once per server, never per connection); see {@link #address()}. */
    private volatile InetSocketAddress address;
    private final boolean backup;
    /** Changed only by the owner ({@code set maxconn server}); read live by {@link #full()} and tryAcquire. */
    private volatile int maxconn;
    /** The PROXY protocol header its connections start with (part of its identity, like the address). */
    private final SendProxy sendProxy;

    private volatile int weight;
    private volatile boolean up;
    private volatile Admin admin;
    /** The registry's drain, apart from the operator's {@link #admin}; see the class comment. */
    private volatile boolean discoveryDrain;

    // Atomic fields through VarHandles rather than Atomic* objects: a relist of a whole swarm makes thousands of
    // servers at once, and each object fewer is less for the young collections that copy them (issue 8). Failed
    // connects are not counted here: the proxy counts them per event loop in its server stats (econ).
    @SuppressWarnings("unused") // through ACTIVE
    private volatile int active;
    @SuppressWarnings("unused") // through TOTAL
    private volatile long total;

    private static final VarHandle ACTIVE;
    private static final VarHandle TOTAL;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            ACTIVE = l.findVarHandle(Server.class, "active", int.class);
            TOTAL = l.findVarHandle(Server.class, "total", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * @param address unresolved or resolved address of the server; never resolved again here
     * @param weight  0..256 as in HAProxy; 0 means no new connections
     * @param maxconn 0 for no limit
     */
    public Server(String name, InetSocketAddress address, int weight, int maxconn, boolean backup, boolean up,
                  Admin admin) {
        this(name, address, weight, maxconn, backup, up, admin, SendProxy.NONE);
    }

    /** @param sendProxy the PROXY header sent to it before each client's bytes ({@code send-proxy[-v2]}) */
    public Server(String name, InetSocketAddress address, int weight, int maxconn, boolean backup, boolean up,
                  Admin admin, SendProxy sendProxy) {
        this(name, null, Objects.requireNonNull(address, "address"), address.getPort(), weight, maxconn, backup, up,
            admin, sendProxy);
    }

    /**
     * A server at an IP literal ({@code 10.1.2.3}, {@code fd00::1}), whose address object is made only when first
     * asked for. The address is made on whichever thread first asks (an event loop connecting to it), where a host
     * name would mean a DNS lookup: so anything but a bare literal is refused here.
     *
     * @param ipLiteral an IPv4 or IPv6 literal ({@link Addresses#isIpLiteral})
     * @throws IllegalArgumentException if it is not one
     */
    public static Server atLiteral(String name, String ipLiteral, int port, int weight, int maxconn, boolean backup,
                                   boolean up, Admin admin, SendProxy sendProxy) {
        if (!Addresses.isIpLiteral(ipLiteral)) {
            throw new IllegalArgumentException("not an IP literal: " + ipLiteral);
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
        return new Server(name, Objects.requireNonNull(ipLiteral, "ipLiteral"), null, port, weight, maxconn, backup,
            up, admin, sendProxy);
    }

    private Server(String name, String literal, InetSocketAddress address, int port, int weight, int maxconn,
                   boolean backup, boolean up, Admin admin, SendProxy sendProxy) {
        this.sendProxy = Objects.requireNonNull(sendProxy, "sendProxy");
        this.name = Objects.requireNonNull(name, "name");
        this.literal = literal;
        this.address = address;
        this.port = port;
        if (weight < 0 || weight > 256) {
            throw new IllegalArgumentException("weight must be 0..256: " + weight);
        }
        if (maxconn < 0) {
            throw new IllegalArgumentException("maxconn must be >= 0: " + maxconn);
        }
        this.weight = weight;
        this.maxconn = maxconn;
        this.backup = backup;
        this.up = up;
        this.admin = Objects.requireNonNull(admin, "admin");
    }

    public String name() { return name; }

    /**
     * The server's socket address. A {@link #atLiteral} server makes it on the first call (two threads may both make
     * one; either is the same address, and each is published whole through the volatile field).
     */
    public InetSocketAddress address() {
        InetSocketAddress a = address;
        if (a == null) {
            a = new InetSocketAddress(literal, port); // a literal: parsed, never looked up
            address = a;
        }
        return a;
    }

    /** The port, without making the address object. */
    public int port() { return port; }

    /**
     * The host as text, without making the address object: the IP literal of an {@link #atLiteral} server, else the
     * address's host string (its name, or its IP literal when made from one).
     */
    public String host() {
        return literal != null ? literal : address.getHostString();
    }

    /** The IP literal this server was made at ({@link #atLiteral}), or null. */
    public String literal() { return literal; }
    public boolean backup() { return backup; }
    public int maxconn() { return maxconn; }
    public SendProxy sendProxy() { return sendProxy; }
    public int weight() { return weight; }
    public boolean up() { return up; }
    /** The operator's admin state (runtime API / config {@code disabled}); the registry's drain is not in it. */
    public Admin admin() { return admin; }
    /** True while the registry (Genesis discovery) holds this server in drain. */
    public boolean discoveryDrain() { return discoveryDrain; }

    /**
     * The state to show (stats page, runtime API listing), folding both sources as HAProxy's stats do: MAINT if the
     * operator set it, else DRAIN if the operator or the registry drains it, else READY. Not used for picking.
     */
    public Admin effectiveAdmin() {
        Admin a = admin;
        if (a == Admin.MAINT) {
            return Admin.MAINT;
        }
        return a == Admin.DRAIN || discoveryDrain ? Admin.DRAIN : Admin.READY;
    }

    /** Current connections to this server (including connects in progress). */
    public int active() { return active; }
    /** Connections ever taken by this server. */
    public long total() { return total; }

    /** Up, READY, not drained by the registry and weight above zero: may be given new connections (if not full). */
    public boolean usable() {
        return up && admin == Admin.READY && !discoveryDrain && weight > 0;
    }

    /** True when a maxconn is set and reached. */
    public boolean full() {
        int max = maxconn;
        return max > 0 && active >= max;
    }

    /**
     * Claims one connection slot, honouring maxconn with a CAS so that concurrent event loops never overshoot.
     *
     * @return false if the server is full
     */
    public boolean tryAcquire() {
        int max = maxconn;
        if (max == 0) {
            ACTIVE.getAndAdd(this, 1);
            TOTAL.getAndAdd(this, 1L);
            return true;
        }
        for (;;) {
            int cur = active;
            if (cur >= max) {
                return false;
            }
            if (ACTIVE.compareAndSet(this, cur, cur + 1)) {
                TOTAL.getAndAdd(this, 1L);
                return true;
            }
        }
    }

    /** Gives back a slot taken by {@link #tryAcquire()}. */
    public void release() {
        ACTIVE.getAndAdd(this, -1);
    }

    // Owner-only setters: the backend's owner writes them, then publishes the next snapshot (see Backend#apply).
    public void weight(int weight) {
        if (weight < 0 || weight > 256) {
            throw new IllegalArgumentException("weight must be 0..256: " + weight);
        }
        this.weight = weight;
    }

    public void up(boolean up) { this.up = up; }

    /** A new maxconn (0: none): live connections above it are not touched, new ones wait until below. Owner only. */
    public void maxconn(int maxconn) {
        if (maxconn < 0) {
            throw new IllegalArgumentException("maxconn must be >= 0: " + maxconn);
        }
        this.maxconn = maxconn;
    }

    /** The operator's state only: never touches the registry's drain. */
    public void admin(Admin admin) { this.admin = Objects.requireNonNull(admin, "admin"); }

    /** The registry's drain only: never touches the operator's admin state. */
    public void discoveryDrain(boolean drained) { this.discoveryDrain = drained; }

    @Override
    public String toString() {
        return name + "@" + host() + ":" + port;
    }
}
