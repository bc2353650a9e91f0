package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.registry.state.Settings;
import dev.planetary.registry.testing.FakeClock;
import dev.planetary.registry.testing.Node;
import dev.planetary.testkit.Chromium;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard in Debian's headless Chromium, driven through chromedriver ({@link Chromium}):
 * a VM registered before the page loads and one registered while it is open both appear, without a reload.
 */
class DashboardChromiumTest {

    private static final Duration WAIT = Chromium.WAIT;

    @TempDir
    Path dir;

    @Test
    void dashboardShowsVmsLiveInHeadlessChromium() throws Exception {
        // a test clock: drains, grace periods and their `released` events happen when the test moves it
        FakeClock clock = new FakeClock();
        Settings settings = new Settings(Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(10),
            Duration.ofSeconds(5));
        try (Node node = Node.start(dir.resolve("data"), clock, settings, false)) {
            String before = node.register("{\"cores\": 6, \"storage_bytes\": 1073741824}").json().get("id").asText();
            Chromium browser = Chromium.start(dir, 1280, 900);
            try {
                browser.open(node.base() + "/");
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() ->
                    browser.script("return document.querySelector('#vms tr[data-id=\"" + before + "\"]') ? 'y' : 'n'")
                        .equals("y"));
                assertThat(browser.script("return document.getElementById('cores').textContent")).isEqualTo("6");
                assertThat(browser.script("return document.getElementById('storage').textContent")).isEqualTo("1.0 GiB");
                browser.script("window.__marker = 'same page'; return ''");

                String after = node.register("{\"cores\": 2}").json().get("id").asText();
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() ->
                    browser.script("return document.querySelector('#vms tr[data-id=\"" + after + "\"]') ? 'y' : 'n'")
                        .equals("y"));
                assertThat(browser.script("return document.getElementById('cores').textContent")).isEqualTo("8");
                assertThat(browser.script("return document.getElementById('vm-count').textContent")).isEqualTo("2");
                assertThat(browser.script("return String(document.querySelectorAll('#mesh circle').length)")).isEqualTo("2");
                assertThat(browser.script("return String(document.querySelectorAll('#mesh line').length)")).isEqualTo("1");
                assertThat(browser.script("return document.querySelector('#ports tr[data-id=\"" + after
                    + "\"]').textContent")).contains(String.valueOf(
                        node.get("/api/vms/" + after).json().at("/ports/pcpu").intValue()));
                assertThat(browser.script("return window.__marker")).as("no reload happened").isEqualTo("same page");

                node.send("DELETE", "/api/vms/" + after, null, node.secret(after));
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() ->
                    browser.script("return document.getElementById('cores').textContent").equals("6"));

                // drained and removed: its ports stay in the table, in their grace period...
                clock.advance(Duration.ofSeconds(11));
                assertThat(node.heartbeat(before).status()).isEqualTo(200);
                String portRow = "return (document.querySelector('#ports tr[data-id=\"" + after
                    + "\"]') || {className: 'none'}).className";
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> browser.script(portRow).equals("grace"));
                assertThat(browser.script("return String(document.querySelectorAll('#vms tr').length)")).isEqualTo("1");
                // ...until the `released` event (grace expired) takes them out
                clock.advance(Duration.ofSeconds(6));
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> browser.script(portRow).equals("none"));
                assertThat(browser.script("return String(document.querySelectorAll('#ports tr').length)")).isEqualTo("1");
                assertThat(browser.script("return document.getElementById('version').textContent"))
                    .isEqualTo(String.valueOf(node.version()));
                assertThat(browser.script("return window.__marker")).as("no reload happened").isEqualTo("same page");
            } catch (Exception | AssertionError e) {
                throw new AssertionError("dashboard test failed; chromedriver output:\n" + browser.driverOutput(), e);
            } finally {
                browser.close();
            }
        }
    }
}
