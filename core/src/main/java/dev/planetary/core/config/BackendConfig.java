package dev.planetary.core.config;

import java.util.List;

/**
 * A {@code backend} (or the server half of a {@code listen}).
 *
 * @param connectTimeoutMs   {@code timeout connect}, 0 for none
 * @param serverTimeoutMs    {@code timeout server}: server-side inactivity, 0 for none
 * @param queueTimeoutMs     {@code timeout queue}: longest wait for a free server slot, 0 to use connect
 * @param serverFinTimeoutMs {@code timeout server-fin}: inactivity once the server half-closed, 0 to use server
 * @param retries            connect re-attempts after the first failure (HAProxy default 3)
 * @param servers            the static {@code server} lines
 * @param discover           where more servers come from ({@code discover genesis ...}), or null
 * @param tunnelTimeoutMs    {@code timeout tunnel}: inactivity in both directions once the server connection is
 *                           established, replacing {@code timeout client} and {@code server} (HAProxy's meaning in
 *                           TCP mode), 0 for none
 */
public record BackendConfig(String name, BalanceAlgorithm balance, HashType hashType, long connectTimeoutMs,
                            long serverTimeoutMs, long queueTimeoutMs, long serverFinTimeoutMs, int retries,
                            boolean redispatch, List<ServerConfig> servers, DiscoverConfig discover, Origin origin,
                            long tunnelTimeoutMs) {

    public static final int DEFAULT_RETRIES = 3;

    public BackendConfig {
        servers = List.copyOf(servers);
    }

    /** A backend without {@code timeout tunnel}. */
    public BackendConfig(String name, BalanceAlgorithm balance, HashType hashType, long connectTimeoutMs,
                         long serverTimeoutMs, long queueTimeoutMs, long serverFinTimeoutMs, int retries,
                         boolean redispatch, List<ServerConfig> servers, DiscoverConfig discover, Origin origin) {
        this(name, balance, hashType, connectTimeoutMs, serverTimeoutMs, queueTimeoutMs, serverFinTimeoutMs, retries,
            redispatch, servers, discover, origin, 0);
    }

    /** A backend with static servers only. */
    public BackendConfig(String name, BalanceAlgorithm balance, HashType hashType, long connectTimeoutMs,
                         long serverTimeoutMs, long queueTimeoutMs, long serverFinTimeoutMs, int retries,
                         boolean redispatch, List<ServerConfig> servers, Origin origin) {
        this(name, balance, hashType, connectTimeoutMs, serverTimeoutMs, queueTimeoutMs, serverFinTimeoutMs, retries,
            redispatch, servers, null, origin);
    }
}
