package dev.planetary.registry.client;

import java.time.Duration;
import java.util.Objects;
import java.util.Random;

/** How a {@link SwarmWatch} follows Genesis. Immutable; build with {@link #builder()}. Every default has its reason. */
public final class WatchOptions {

    /** First reconnect delay after a failure: short, a restarting Genesis is usually back within a second. */
    public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofMillis(100);
    /** Longest reconnect delay: a Genesis that comes back is found within 5 s, and a down one costs one try per 5 s. */
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(5);
    /** Up to half of each delay is random, so proxies cut off together do not reconnect in one wave. */
    public static final double DEFAULT_JITTER = 0.5;
    /** A connect that takes longer than this on a LAN means the host is gone: try the next URL. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    /**
     * Genesis sends a keep-alive comment every 5 s; nothing at all for three of them means the stream is dead (a
     * half-open connection after a host crash), so the watch reconnects.
     */
    public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(15);
    /**
     * Longest event accepted (a line, or the data of one event). The largest event Genesis sends is the snapshot: at
     * the 1,999-VM cap with 64 services and 64 labels of 256 characters each it is about 40 MB; a typical one is
     * well under 1 MB. Anything longer is treated as malformed (dropped, then a relist) instead of filling the heap.
     */
    public static final int DEFAULT_MAX_EVENT_BYTES = 64 << 20;

    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final double jitter;
    private final Duration connectTimeout;
    private final Duration readTimeout;
    private final int maxEventBytes;
    private final String bearerToken;
    private final Clock clock;
    private final Random random;

    private WatchOptions(Builder b) {
        this.initialBackoff = b.initialBackoff;
        this.maxBackoff = b.maxBackoff;
        this.jitter = b.jitter;
        this.connectTimeout = b.connectTimeout;
        this.readTimeout = b.readTimeout;
        this.maxEventBytes = b.maxEventBytes;
        this.bearerToken = b.bearerToken;
        this.clock = b.clock;
        this.random = b.random;
        backoff(); // validates
        if (connectTimeout.isNegative() || connectTimeout.isZero()) {
            throw new IllegalArgumentException("connect timeout must be positive");
        }
        if (readTimeout.isNegative() || readTimeout.isZero()) {
            throw new IllegalArgumentException("read timeout must be positive");
        }
        if (maxEventBytes < 1024) {
            throw new IllegalArgumentException("max event bytes must be at least 1024, not " + maxEventBytes);
        }
    }

    public static WatchOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Duration initialBackoff() { return initialBackoff; }
    public Duration maxBackoff() { return maxBackoff; }
    public double jitter() { return jitter; }
    public Duration connectTimeout() { return connectTimeout; }
    public Duration readTimeout() { return readTimeout; }
    public int maxEventBytes() { return maxEventBytes; }
    /** Sent as {@code Authorization: Bearer ...} when set (reads need no token today; a Genesis behind auth may). */
    public String bearerToken() { return bearerToken; }
    /** Measures the silence of a stream against the read timeout (tests drive it). */
    public Clock clock() { return clock; }
    /** The jitter's randomness (tests seed it). */
    public Random random() { return random; }

    Backoff backoff() {
        return new Backoff(initialBackoff, maxBackoff, jitter);
    }

    /** Builder with the defaults above. */
    public static final class Builder {
        private Duration initialBackoff = DEFAULT_INITIAL_BACKOFF;
        private Duration maxBackoff = DEFAULT_MAX_BACKOFF;
        private double jitter = DEFAULT_JITTER;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration readTimeout = DEFAULT_READ_TIMEOUT;
        private int maxEventBytes = DEFAULT_MAX_EVENT_BYTES;
        private String bearerToken;
        private Clock clock = Clock.SYSTEM;
        private Random random = new Random();

        private Builder() {
        }

        public Builder initialBackoff(Duration d) { this.initialBackoff = Objects.requireNonNull(d); return this; }
        public Builder maxBackoff(Duration d) { this.maxBackoff = Objects.requireNonNull(d); return this; }
        public Builder jitter(double j) { this.jitter = j; return this; }
        public Builder connectTimeout(Duration d) { this.connectTimeout = Objects.requireNonNull(d); return this; }
        public Builder readTimeout(Duration d) { this.readTimeout = Objects.requireNonNull(d); return this; }
        public Builder maxEventBytes(int n) { this.maxEventBytes = n; return this; }
        public Builder bearerToken(String t) { this.bearerToken = t; return this; }
        public Builder clock(Clock c) { this.clock = Objects.requireNonNull(c); return this; }
        public Builder random(Random r) { this.random = Objects.requireNonNull(r); return this; }

        public WatchOptions build() {
            return new WatchOptions(this);
        }
    }
}
