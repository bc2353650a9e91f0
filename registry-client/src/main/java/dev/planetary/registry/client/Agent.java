package dev.planetary.registry.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VM side of Genesis: registers (with its instance key, so it keeps its id and ports across restarts), heartbeats
 * at the interval Genesis returns, registers again when Genesis answers 404 (it expired the VM or lost it), retries
 * with a capped backoff while Genesis is down, and leaves on {@link #close()}. With several Genesis URLs, register,
 * heartbeat and leave fail over alike ({@link Failover}): a Genesis down or answering 5xx hands the request to the next
 * URL at once, and the backoff starts only once every URL has failed in a row. With an address it connects from
 * that address, which is then the one Genesis records. Everything runs on one event loop thread; one log line per
 * state change, never one per heartbeat.
 *
 * <p>Credentials: registration sends the join token (and the VM's secret once it has one, so that registering again
 * keeps the VM's identity from any address); heartbeat and leave send only the VM's secret, which the answer to its
 * first registration carried. The secret is kept in memory, and in {@link AgentOptions#secretFile()} when set; it is
 * never logged. A heartbeat refused with 403 (the secret was replaced: the VM registered again from its address
 * without it) makes the agent register again.
 */
public final class Agent implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Used until Genesis says otherwise (its default). */
    private static final long DEFAULT_HEARTBEAT_MILLIS = 5_000;
    /** The header a registration presents the VM's secret in (Genesis' {@code Registry.SECRET_HEADER}). */
    static final String SECRET_HEADER = "Genesis-Secret";
    /** A leave attempt on the next URL gets at least this long, even when the leave's deadline is nearly spent. */
    private static final long MIN_ATTEMPT_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** Where the agent stands. */
    public enum State {
        /** Not registered yet, or registering again (after a 404 or while Genesis is down). */
        REGISTERING,
        /** Registered; heartbeating. */
        REGISTERED,
        /** Closed (left, or gave up leaving after the leave timeout). */
        CLOSED
    }

    private final AgentOptions options;
    private final EventLoopGroup group;
    private final EventLoop loop;
    private final byte[] registerBody;

    // ---- owned by the event loop ----
    private final Failover failover;
    private long intervalMillis = DEFAULT_HEARTBEAT_MILLIS;
    private String lastProblem;
    private ScheduledFuture<?> timer;
    private CompletableFuture<?> inFlight = CompletableFuture.completedFuture(null);
    private boolean closing;
    /** The VM's secret from Genesis (null before the first registration, or with a Genesis that gives none). */
    private String secret;

    // ---- published ----
    private volatile State state = State.REGISTERING;
    private volatile java.net.URI current;
    private volatile String vmId;
    private volatile String ip;
    private volatile Map<String, Integer> ports = Map.of();
    private volatile long registrations;
    private volatile long heartbeats;
    private volatile long failedRequests;

    private Agent(AgentOptions options) {
        this.options = options;
        this.failover = new Failover(options.genesis().stream().map(Endpoint::of).toList(), options.backoff());
        this.current = failover.current().uri();
        this.group = Transport.group("planetary-agent");
        this.loop = group.next();
        this.registerBody = body(options);
        this.secret = SecretFile.read(options.secretFile());
    }

    /** Starts registering in the background; returns at once. */
    public static Agent start(AgentOptions options) {
        Agent a = new Agent(Objects.requireNonNull(options));
        a.loop.execute(a::register);
        return a;
    }

    /** The id Genesis gave this VM; null before the first registration. */
    public String vmId() {
        return vmId;
    }

    /** The gateway ports Genesis assigned (kind to port); empty before the first registration. */
    public Map<String, Integer> ports() {
        return ports;
    }

    /** The address Genesis recorded for the VM; null before the first registration. */
    public String ip() {
        return ip;
    }

    /** The Genesis URL of the fail-over list the agent talks to (or tries next while its Genesis is away). */
    public java.net.URI currentUrl() {
        return current;
    }

    /** True while registered and heartbeating. */
    public boolean registered() {
        return state == State.REGISTERED;
    }

    public State state() {
        return state;
    }

    /** Successful registrations (the first one and every one after a 404). */
    public long registrations() {
        return registrations;
    }

    /** Heartbeats Genesis answered 200. */
    public long heartbeats() {
        return heartbeats;
    }

    /** Requests that failed (no answer, or an answer other than success or 404): Genesis away or refusing. */
    public long failedRequests() {
        return failedRequests;
    }

    /** Leaves Genesis (the VM turns draining and is removed after Genesis' drain period) and stops. */
    @Override
    public void close() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            loop.execute(() -> {
                if (closing) {
                    done.complete(null);
                    return;
                }
                closing = true;
                if (timer != null) {
                    timer.cancel(false);
                }
                // a registration in flight may still succeed: leave after it, whatever it was
                inFlight.handle((x, e) -> null).thenComposeAsync(x -> leave(), loop)
                    .whenComplete((x, e) -> done.complete(null));
            });
            done.get(options.leaveTimeout().toMillis() + options.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            LOG.warn("leave not answered in time; Genesis will expire {} after its TTL", vmId);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.RejectedExecutionException e) {
            LOG.debug("close: {}", e.toString());
        }
        state = State.CLOSED;
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
    }

    /**
     * Stops at once without leaving, as a VM that crashed or lost power: no more heartbeats, so Genesis expires the VM
     * after its TTL. A local swarm uses it for {@code swarm kill}, where its VMs share one JVM and a SIGKILL of the
     * VM's own process is not possible.
     */
    public void halt() {
        try {
            loop.execute(() -> {
                closing = true;
                if (timer != null) {
                    timer.cancel(false);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.debug("halt: {}", e.toString());
        }
        state = State.CLOSED;
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5_000);
    }

    // ---- on the event loop ----

    private Endpoint genesis() {
        Endpoint e = failover.current();
        current = e.uri();
        return e;
    }

    private double random() {
        return options.random().nextDouble();
    }

    /** Registration: the join token, and the VM's secret when it has one. */
    private CompletableFuture<HttpCall.Reply> callAsJoiner(String method, String path, byte[] body,
                                                           java.time.Duration timeout) {
        CompletableFuture<HttpCall.Reply> f = HttpCall.send(loop, genesis(), method, path, body, options.token(),
            secret == null ? Map.of() : Map.of(SECRET_HEADER, secret), options.address(), options.connectTimeout(),
            timeout);
        inFlight = f;
        return f;
    }

    /** Heartbeat and leave: the VM's own secret (the join token only for a Genesis that gave none). */
    private CompletableFuture<HttpCall.Reply> callAsVm(String method, String path, byte[] body,
                                                       java.time.Duration timeout) {
        CompletableFuture<HttpCall.Reply> f = HttpCall.send(loop, genesis(), method, path, body,
            secret != null ? secret : options.token(), options.address(), options.connectTimeout(), timeout);
        inFlight = f;
        return f;
    }

    private void register() {
        if (closing) {
            return;
        }
        Endpoint to = genesis();
        callAsJoiner("POST", "/api/vms", registerBody, options.requestTimeout()).whenComplete((r, err) -> {
            if (closing && err == null && (r.status() == 200 || r.status() == 201)) {
                registered(to, r); // close() leaves it right after
                return;
            }
            if (closing) {
                return;
            }
            if (err != null) {
                retryRegister(to, err.getMessage(), true);
            } else if (r.status() == 200 || r.status() == 201) {
                registered(to, r);
                scheduleHeartbeat(intervalMillis);
            } else {
                retryRegister(to, "HTTP " + r.status() + ": " + error(r), r.status() >= 500);
            }
        });
    }

    private void registered(Endpoint to, HttpCall.Reply r) {
        JsonNode n;
        try {
            n = MAPPER.readTree(r.body());
        } catch (java.io.IOException e) {
            n = null;
        }
        String id = n == null ? null : n.path("id").textValue();
        if (id == null) {
            retryRegister(to, "registration answer without an id", true);
            return;
        }
        Map<String, Integer> p = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : n.path("ports").properties()) {
            p.put(e.getKey(), e.getValue().intValue());
        }
        long hb = n.path("heartbeat_interval_ms").asLong(DEFAULT_HEARTBEAT_MILLIS);
        intervalMillis = hb > 0 ? hb : DEFAULT_HEARTBEAT_MILLIS;
        String issued = n.path("secret").textValue();
        if (issued != null) {
            // given once: keep it (and in the secret file, for an agent restarted on this VM)
            secret = issued;
            SecretFile.write(options.secretFile(), issued);
        }
        String before = vmId;
        vmId = id;
        ip = n.path("ip").asText(null);
        ports = java.util.Collections.unmodifiableMap(p);
        registrations = registrations + 1;
        failover.succeeded();
        lastProblem = null;
        state = State.REGISTERED;
        LOG.info("registered with {} as {}{} (ip {}, ports {}, heartbeat every {} ms)", to, id,
            before == null ? "" : id.equals(before) ? " again" : " again (was " + before + ")", ip, p, intervalMillis);
    }

    /**
     * {@code tryNextUrl}: Genesis is down or answered 5xx, so the next URL is tried (at once while some URL of the
     * list is untried; the instance key in the body gets the same id and ports from any instance of one store).
     * Otherwise (a 4xx) the same URL again after the backoff.
     */
    private void retryRegister(Endpoint to, String problem, boolean tryNextUrl) {
        failedRequests = failedRequests + 1;
        long delay = tryNextUrl ? failover.failed(this::random) : failover.retrySame(this::random);
        Endpoint next = failover.current();
        if (!problem.equals(lastProblem)) {
            LOG.warn("registration with {} failed: {}; retrying{} (backoff up to {} ms)", to, problem,
                next.equals(to) ? "" : " with " + next, options.backoff().delayNanos(Integer.MAX_VALUE, () -> 0)
                / 1_000_000);
            lastProblem = problem;
        }
        state = State.REGISTERING;
        timer = loop.schedule(this::register, delay, TimeUnit.NANOSECONDS);
    }

    private void scheduleHeartbeat(long millis) {
        if (!closing) {
            timer = loop.schedule(this::heartbeat, millis, TimeUnit.MILLISECONDS);
        }
    }

    private void heartbeat() {
        if (closing) {
            return;
        }
        String id = vmId;
        Endpoint to = genesis();
        callAsVm("PUT", "/api/vms/" + id + "/heartbeat", null, options.requestTimeout()).whenComplete((r, err) -> {
            if (closing) {
                return;
            }
            if (err == null && r.status() == 200) {
                heartbeats = heartbeats + 1;
                failover.succeeded();
                if (lastProblem != null) {
                    LOG.info("heartbeats answered again by {}", to);
                    lastProblem = null;
                }
                JsonNode n = json(r);
                long hb = n == null ? 0 : n.path("heartbeat_interval_ms").asLong(0);
                if (hb > 0 && hb != intervalMillis) {
                    LOG.info("Genesis changed the heartbeat interval: {} ms", hb);
                    intervalMillis = hb;
                }
                scheduleHeartbeat(intervalMillis);
            } else if (err == null && r.status() == 404) {
                LOG.warn("Genesis {} no longer knows {} (404: expired or lost); registering again", to, id);
                state = State.REGISTERING;
                lastProblem = null;
                register();
            } else if (err == null && r.status() == 403 && secret != null) {
                // our secret was replaced (the VM registered again from its address without it): get a new one
                LOG.warn("Genesis {} refused {}'s secret (403: {}); registering again", to, id, error(r));
                state = State.REGISTERING;
                lastProblem = null;
                register();
            } else {
                String problem = err != null ? err.getMessage() : "HTTP " + r.status() + ": " + error(r);
                failedRequests = failedRequests + 1;
                // down or 5xx: the next URL at once (any instance of one store keeps the VM alive); a 4xx: the same
                long backoffNanos = err != null || r.status() >= 500 ? failover.failed(this::random)
                    : failover.retrySame(this::random);
                if (!problem.equals(lastProblem)) {
                    Endpoint next = failover.current();
                    LOG.warn("heartbeat to {} failed: {}; still trying{} (Genesis keeps {} until its TTL)", to,
                        problem, next.equals(to) ? "" : " with " + next, id);
                    lastProblem = problem;
                }
                // while Genesis is away, try at least once per interval so its TTL never runs out on our side
                long delay = Math.min(intervalMillis, backoffNanos / 1_000_000);
                scheduleHeartbeat(Math.max(1, delay));
            }
        });
    }

    private CompletableFuture<Void> leave() {
        String id = vmId;
        if (id == null) {
            return CompletableFuture.completedFuture(null);
        }
        long deadline = options.clock().nanos() + options.leaveTimeout().toNanos();
        return leave(id, deadline, failover.size());
    }

    /** One leave attempt; a Genesis down or answering 5xx hands it to the next URL, all within one deadline. */
    private CompletableFuture<Void> leave(String id, long deadlineNanos, int triesLeft) {
        Endpoint to = genesis();
        java.time.Duration left = java.time.Duration.ofNanos(Math.max(MIN_ATTEMPT_NANOS,
            deadlineNanos - options.clock().nanos()));
        return callAsVm("DELETE", "/api/vms/" + id, null, left).handle((r, err) -> {
            String problem = err != null ? err.getMessage() : r.status() >= 500 ? "HTTP " + r.status() + ": "
                + error(r) : null;
            if (problem != null && triesLeft > 1 && options.clock().nanos() < deadlineNanos) {
                failover.failed(() -> 0);
                LOG.warn("leaving {} failed: {}; trying {}", to, problem, failover.current());
                return leave(id, deadlineNanos, triesLeft - 1);
            }
            if (err != null) {
                LOG.warn("leaving {} failed: {}; Genesis will expire {} after its TTL", to, err.getMessage(), id);
            } else if (r.status() == 202) {
                LOG.info("left {}: {} is draining", to, id);
            } else {
                LOG.warn("leaving {}: HTTP {}: {}", to, r.status(), error(r));
            }
            state = State.CLOSED;
            return CompletableFuture.<Void>completedFuture(null);
        }).thenCompose(f -> f);
    }

    private static JsonNode json(HttpCall.Reply r) {
        try {
            return MAPPER.readTree(r.body());
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /** Genesis' {"error": ...} message, or the start of the body. */
    private static String error(HttpCall.Reply r) {
        JsonNode n = json(r);
        if (n != null && n.hasNonNull("error")) {
            return n.get("error").asText();
        }
        return SseDecoder.printable(new String(r.body(), StandardCharsets.UTF_8));
    }

    private static byte[] body(AgentOptions o) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("cores", o.cores());
        if (o.address() != null) {
            n.put("ip", o.address().getHostAddress());
        }
        if (o.memoryMb() >= 0) {
            n.put("memory_mb", o.memoryMb());
        }
        if (o.storageBytes() >= 0) {
            n.put("storage_bytes", o.storageBytes());
        }
        if (!o.services().isEmpty()) {
            ObjectNode s = n.putObject("services");
            new TreeMap<>(o.services()).forEach(s::put);
        }
        if (!o.labels().isEmpty()) {
            ObjectNode l = n.putObject("labels");
            new TreeMap<>(o.labels()).forEach(l::put);
        }
        if (o.instance() != null) {
            n.put("instance", o.instance());
        }
        try {
            return MAPPER.writeValueAsBytes(n);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
