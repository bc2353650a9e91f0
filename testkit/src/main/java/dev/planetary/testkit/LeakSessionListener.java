package dev.planetary.testkit;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/** Installs leak tracking when the JUnit launcher starts, before any test touches Netty. */
public final class LeakSessionListener implements LauncherSessionListener {
    @Override
    public void launcherSessionOpened(LauncherSession session) {
        LeakTracking.install();
    }
}
