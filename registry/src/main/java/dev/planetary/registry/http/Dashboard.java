package dev.planetary.registry.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** The dashboard page: one static HTML file with inline CSS and JS (no CDN: the machine may have no internet). */
final class Dashboard {

    private static final byte[] HTML = load();

    private Dashboard() {
    }

    static byte[] html() {
        return HTML;
    }

    private static byte[] load() {
        try (InputStream in = Dashboard.class.getResourceAsStream("/genesis/dashboard.html")) {
            if (in == null) {
                throw new IllegalStateException("dashboard.html missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
