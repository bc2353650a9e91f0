package dev.planetary.proxy;

import dev.planetary.core.config.BackendConfig;

/** ProxyBackends for tests that drive a backend without a running proxy; closes what it made. */
final class TestBackends implements AutoCloseable {

    ProxyBackend create(BackendConfig config) {
        return new ProxyBackend(config);
    }

    @Override
    public void close() {
    }
}
