package dev.planetary.proxy.stats.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.planetary.proxy.Proxy;
import dev.planetary.proxy.testing.Backends;
import dev.planetary.proxy.testing.Harness;
import dev.planetary.proxy.testing.Ports;
import dev.planetary.testkit.Chromium;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stats page in Debian's headless Chromium (through chromedriver, {@link Chromium}): the browser logs in with
 * basic auth, the page renders a table per proxy with every server, the rows carry HAProxy's colours as the browser
 * computes them (UP green, DOWN red, MAINT brown), and a screenshot is written to {@code target/stats-page.png} for a
 * human to look at.
 */
class StatsPageChromiumTest {

    @TempDir
    Path dir;

    @Test
    void pageRendersTablesAndStateColoursInHeadlessChromium() throws Exception {
        try (Backends backends = new Backends()) {
            Backends.TestServer s1 = backends.named("s1");
            int front = Ports.pcpu();
            int page = Ports.pcpu();
            int dead = Ports.pcpu();
            Proxy proxy = Harness.start(StatsPageCurlTest.config(front, s1.port(), dead, page));
            try {
                await().atMost(Chromium.WAIT).until(() -> proxy.backend("pcpu").servers().stream()
                    .filter(s -> s.name().equals("s2")).noneMatch(s -> s.up()));
                try (Socket c = Harness.connect(front)) {
                    assertThat(Harness.readLine(c)).isEqualTo("s1");
                }
                try (Chromium browser = Chromium.start(dir, 1600, 900)) {
                    try {
                        look(browser, page);
                    } catch (Exception | AssertionError e) {
                        throw new AssertionError("stats page test failed; chromedriver output:\n"
                            + browser.driverOutput(), e);
                    }
                }
            } finally {
                proxy.close();
            }
        }
    }

    private static void look(Chromium browser, int page) throws Exception {
        // basic auth in the URL: Chromium sends it as an Authorization header
        browser.open("http://admin:" + StatsPageCurlTest.PASSWORD + "@127.0.0.1:" + page + "/");
        browser.awaitScript("return document.querySelector('#px-pcpu') ? 'y' : 'n'", "y");
        assertThat(browser.script("return document.title")).isEqualTo("Statistics Report for Planetary");
        assertThat(browser.script("return String(document.querySelectorAll('table.tbl').length)")).isEqualTo("1");
        assertThat(browser.script("return Array.from(document.querySelectorAll('#px-pcpu tr[data-name]'))"
            + ".map(r => r.dataset.name).join(',')")).isEqualTo("FRONTEND,s1,s2,s3,BACKEND");
        String colour = "return getComputedStyle(document.querySelector('#px-pcpu tr[data-name=\"%s\"]'))"
            + ".backgroundColor";
        assertThat(browser.script(colour.formatted("s1"))).as("UP: green").isEqualTo("rgb(192, 255, 192)");
        assertThat(browser.script(colour.formatted("s2"))).as("DOWN: red").isEqualTo("rgb(255, 144, 144)");
        assertThat(browser.script(colour.formatted("s3"))).as("MAINT: brown").isEqualTo("rgb(192, 120, 32)");
        assertThat(browser.script(colour.formatted("FRONTEND"))).isEqualTo("rgb(232, 232, 208)");
        assertThat(browser.script("return document.querySelector('#px-pcpu tr[data-name=\"s1\"]').cells[10]"
            + ".textContent")).as("s1's session total, column Sessions/Total").isEqualTo("1");
        assertThat(browser.script("return document.getElementById('genesis').textContent")).contains("Genesis");
        // the page fits the window's width: nothing wider than the body
        assertThat(Integer.parseInt(browser.script("return String(document.documentElement.scrollWidth)")))
            .isLessThanOrEqualTo(1600);
        byte[] png = browser.screenshot();
        assertThat(png).startsWith(0x89, 'P', 'N', 'G');
        Path out = Path.of("target", "stats-page.png");
        Files.createDirectories(out.getParent());
        Files.write(out, png);
    }
}
