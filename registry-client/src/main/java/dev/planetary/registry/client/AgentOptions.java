package dev.planetary.registry.client;

import java.net.InetAddress;
import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.regex.Pattern;

/** What an {@link Agent} registers and how it talks to Genesis. Immutable; build with {@link #builder()}. */
public final class AgentOptions {

    /** First retry after a failed registration: a restarting Genesis is usually back within a second. */
    public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofMillis(200);
    /** Longest wait between registration attempts: a VM joins at most 5 s after Genesis comes back. */
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(5);
    /** Up to half of each delay is random, so a swarm cut off together does not return in one wave. */
    public static final double DEFAULT_JITTER = 0.5;
    /** A connect that takes longer than this on a LAN means Genesis is not there. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    /** Longest wait for an answer: Genesis answers after its fsync, milliseconds normally. */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(5);
    /** How long {@link Agent#close()} waits for the leave to be answered before giving up (the TTL then expires it). */
    public static final Duration DEFAULT_LEAVE_TIMEOUT = Duration.ofSeconds(5);

    private static final Pattern SERVICE = Pattern.compile("[a-z][a-z0-9_-]{0,31}");
    private static final Pattern INSTANCE = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

    private final List<URI> genesis;
    private final String token;
    private final String instance;
    private final int cores;
    private final long memoryMb;
    private final long storageBytes;
    private final Map<String, Integer> services;
    private final Map<String, String> labels;
    private final InetAddress address;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final double jitter;
    private final Duration connectTimeout;
    private final Duration requestTimeout;
    private final Duration leaveTimeout;
    private final Random random;
    private final Clock clock;
    private final java.nio.file.Path secretFile;

    private AgentOptions(Builder b) {
        if (b.genesis == null || b.genesis.isEmpty()) {
            throw new IllegalArgumentException("a Genesis URL is needed");
        }
        b.genesis.forEach(Endpoint::of);
        if (b.token == null || b.token.isBlank()) {
            throw new IllegalArgumentException("the join token is empty");
        }
        if (b.instance != null && !INSTANCE.matcher(b.instance).matches()) {
            throw new IllegalArgumentException("instance key '" + SseDecoder.printable(b.instance) + "' must be 1..128 "
                + "of A-Za-z0-9._:-");
        }
        if (b.cores < 1 || b.cores > 1024) {
            throw new IllegalArgumentException("cores must be 1..1024, not " + b.cores);
        }
        if (b.services.size() > 64) {
            throw new IllegalArgumentException("at most 64 services, not " + b.services.size());
        }
        for (Map.Entry<String, Integer> e : b.services.entrySet()) {
            if (!SERVICE.matcher(e.getKey()).matches()) {
                throw new IllegalArgumentException("service name '" + SseDecoder.printable(e.getKey()) + "' must match "
                    + SERVICE.pattern());
            }
            if (e.getValue() == null || e.getValue() < 1 || e.getValue() > 65535) {
                throw new IllegalArgumentException("service " + e.getKey() + ": port must be 1..65535, not "
                    + e.getValue());
            }
        }
        this.genesis = List.copyOf(b.genesis);
        this.token = b.token.trim();
        this.instance = b.instance;
        this.cores = b.cores;
        this.memoryMb = b.memoryMb;
        this.storageBytes = b.storageBytes;
        this.services = Map.copyOf(b.services);
        this.labels = Map.copyOf(b.labels);
        this.address = b.address;
        this.initialBackoff = b.initialBackoff;
        this.maxBackoff = b.maxBackoff;
        this.jitter = b.jitter;
        this.connectTimeout = b.connectTimeout;
        this.requestTimeout = b.requestTimeout;
        this.leaveTimeout = b.leaveTimeout;
        this.random = b.random;
        this.clock = b.clock;
        this.secretFile = b.secretFile;
        backoff();
    }

    public static Builder builder() {
        return new Builder();
    }

    public List<URI> genesis() { return genesis; }
    String token() { return token; }
    public String instance() { return instance; }
    public int cores() { return cores; }
    public long memoryMb() { return memoryMb; }
    public long storageBytes() { return storageBytes; }
    public Map<String, Integer> services() { return services; }
    public Map<String, String> labels() { return labels; }
    /** The VM's address: requests leave from it, so it is the address Genesis records. Null: the kernel's choice. */
    public InetAddress address() { return address; }
    public Duration connectTimeout() { return connectTimeout; }
    public Duration requestTimeout() { return requestTimeout; }
    public Duration leaveTimeout() { return leaveTimeout; }
    Random random() { return random; }
    /** Measures the leave's deadline across the fail-over list (tests drive it). */
    public Clock clock() { return clock; }
    /**
     * Where the agent keeps the VM's secret (mode 0600), so that an agent restarted on the same VM keeps its identity
     * without a new secret; null: in memory only (a restarted agent then registers again from the VM's address and
     * gets a new one).
     */
    public java.nio.file.Path secretFile() { return secretFile; }

    Backoff backoff() {
        return new Backoff(initialBackoff, maxBackoff, jitter);
    }

    @Override
    public String toString() {
        return "AgentOptions{genesis=" + genesis + ", instance=" + instance + ", cores=" + cores + ", services="
            + services + ", address=" + (address == null ? "-" : address.getHostAddress()) + "}"; // never the token
    }

    /** Builder with the defaults above; Genesis URL(s), token and cores are required. */
    public static final class Builder {
        private List<URI> genesis;
        private String token;
        private String instance;
        private int cores;
        private long memoryMb = -1;
        private long storageBytes = -1;
        private final Map<String, Integer> services = new LinkedHashMap<>();
        private final Map<String, String> labels = new LinkedHashMap<>();
        private InetAddress address;
        private Duration initialBackoff = DEFAULT_INITIAL_BACKOFF;
        private Duration maxBackoff = DEFAULT_MAX_BACKOFF;
        private double jitter = DEFAULT_JITTER;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
        private Duration leaveTimeout = DEFAULT_LEAVE_TIMEOUT;
        private Random random = new Random();
        private Clock clock = Clock.SYSTEM;
        private java.nio.file.Path secretFile;

        private Builder() {
        }

        /**
         * Genesis base URL(s); with several, a request that finds its Genesis down or answering 5xx moves on to the
         * next at once (see {@link Failover}).
         */
        public Builder genesis(List<URI> urls) { this.genesis = List.copyOf(urls); return this; }
        public Builder genesis(URI url) { return genesis(List.of(url)); }
        public Builder token(String t) { this.token = t; return this; }
        /** The key the VM keeps across reboots: it gets its id and ports back when it registers again. */
        public Builder instance(String key) { this.instance = key; return this; }
        public Builder cores(int n) { this.cores = n; return this; }
        public Builder memoryMb(long mb) { this.memoryMb = mb; return this; }
        public Builder storageBytes(long b) { this.storageBytes = b; return this; }
        public Builder service(String name, int port) { this.services.put(name, port); return this; }
        public Builder services(Map<String, Integer> s) { this.services.putAll(s); return this; }
        public Builder label(String k, String v) { this.labels.put(k, v); return this; }
        public Builder address(InetAddress a) { this.address = a; return this; }
        public Builder initialBackoff(Duration d) { this.initialBackoff = Objects.requireNonNull(d); return this; }
        public Builder maxBackoff(Duration d) { this.maxBackoff = Objects.requireNonNull(d); return this; }
        public Builder jitter(double j) { this.jitter = j; return this; }
        public Builder connectTimeout(Duration d) { this.connectTimeout = Objects.requireNonNull(d); return this; }
        public Builder requestTimeout(Duration d) { this.requestTimeout = Objects.requireNonNull(d); return this; }
        public Builder leaveTimeout(Duration d) { this.leaveTimeout = Objects.requireNonNull(d); return this; }
        public Builder random(Random r) { this.random = Objects.requireNonNull(r); return this; }
        public Builder clock(Clock c) { this.clock = Objects.requireNonNull(c); return this; }
        /** Keep the VM's secret in this file too (see {@link AgentOptions#secretFile()}). */
        public Builder secretFile(java.nio.file.Path f) { this.secretFile = f; return this; }

        public AgentOptions build() {
            return new AgentOptions(this);
        }
    }
}
