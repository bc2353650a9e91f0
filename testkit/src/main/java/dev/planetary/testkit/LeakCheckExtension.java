package dev.planetary.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** After every test class: zero Netty LEAK reports, or the class fails. Registered for all tests (autodetection). */
public final class LeakCheckExtension implements AfterAllCallback {
    @Override
    public void afterAll(ExtensionContext context) {
        assertThat(LeakTracking.installed()).as("leak tracking installed by LeakSessionListener").isTrue();
        assertThat(LeakTracking.collect()).as("Netty LEAK reports").isEmpty();
    }
}
