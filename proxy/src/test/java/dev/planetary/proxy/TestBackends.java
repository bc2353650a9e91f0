package dev.planetary.proxy;

import dev.planetary.core.config.BackendConfig;

/** ProxyBackends with their control agent (and a health checker) for tests that drive a backend without a running proxy; closes them. */
final class TestBackends implements AutoCloseable {

    private final ControlAgent control = new ControlAgent();
    private HealthChecker health;

    ProxyBackend create(BackendConfig config) {
        return new ProxyBackend(config, control);
    }

    /** One health checker for this test's backends, started on first use. */
    HealthChecker health() {
        if (health == null) {
            health = new HealthChecker(Transport.best());
        }
        return health;
    }

    @Override
    public void close() {
        control.close();
        if (health != null) {
            health.close();
        }
    }
}
