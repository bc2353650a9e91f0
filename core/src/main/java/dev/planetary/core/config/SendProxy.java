package dev.planetary.core.config;

/**
 * Whether and how a server is sent HAProxy's PROXY protocol header before the client's bytes: {@code send-proxy}
 * (version 1, one text line) or {@code send-proxy-v2} (version 2, binary), as on HAProxy's {@code server} lines.
 */
public enum SendProxy {
    /** No header: the server sees the proxy's address (HAProxy's default). */
    NONE,
    /** {@code send-proxy}: {@code PROXY TCP4 src dst sport dport\r\n}. */
    V1,
    /** {@code send-proxy-v2}: the binary header. */
    V2
}
