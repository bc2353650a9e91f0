package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

/** The proxy's hand-read command line: every option, repeats, and each way it can be wrong. */
class ProxyArgsTest {

    @Test
    void everyOptionIsRead() throws Exception {
        ProxyArgs a = ProxyArgs.parse(new String[] {"-f", "a.cfg", "-c", "-f", "b.cfg", "-p", "pid",
            "--handover-socket", "h.sock", "-x", "old.sock", "-sf", "12", "34", "-v"});
        assertThat(a.files).containsExactly(Path.of("a.cfg"), Path.of("b.cfg"));
        assertThat(a.check).isTrue();
        assertThat(a.version).isTrue();
        assertThat(a.help).isFalse();
        assertThat(a.pidFile).isEqualTo(Path.of("pid"));
        assertThat(a.handoverSocket).isEqualTo(Path.of("h.sock"));
        assertThat(a.takeFrom).isEqualTo(Path.of("old.sock"));
        assertThat(a.softStopPids).containsExactly(12L, 34L);
    }

    @Test
    void theSpellingsPicocliTookStillWork() throws Exception {
        ProxyArgs a = ProxyArgs.parse(new String[] {"-f=a.cfg", "-fb.cfg", "-p=pid", "--handover-socket=h.sock",
            "-xold.sock", "--", "-c"});
        assertThat(a.files).containsExactly(Path.of("a.cfg"), Path.of("b.cfg"));
        assertThat(a.pidFile).isEqualTo(Path.of("pid"));
        assertThat(a.handoverSocket).isEqualTo(Path.of("h.sock"));
        assertThat(a.takeFrom).isEqualTo(Path.of("old.sock"));
        assertThat(a.check).isTrue();
        assertThatThrownBy(() -> ProxyArgs.parse(new String[] {"--help=yes"})).isInstanceOf(ProxyArgs.Invalid.class)
            .hasMessageContaining("'yes'");
    }

    @Test
    void nothingGivenIsNothingSet() throws Exception {
        ProxyArgs a = ProxyArgs.parse(new String[0]);
        assertThat(a.files).isNull();
        assertThat(a.softStopPids).isNull();
        assertThat(a.check || a.version || a.help).isFalse();
    }

    @Test
    void softStopPidsEndAtTheNextOption() throws Exception {
        ProxyArgs a = ProxyArgs.parse(new String[] {"-sf", "7", "-f", "x.cfg"});
        assertThat(a.softStopPids).containsExactly(7L);
        assertThat(a.files).containsExactly(Path.of("x.cfg"));
    }

    @Test
    void helpIsAskedForEitherWay() throws Exception {
        assertThat(ProxyArgs.parse(new String[] {"-h"}).help).isTrue();
        assertThat(ProxyArgs.parse(new String[] {"--help"}).help).isTrue();
        CliTest.Result r = CliTest.run("-h");
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith(ProxyArgs.USAGE_LINE).contains("-sf PID...").contains("-f FILE");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void eachMistakeIsNamed() {
        for (List<String> bad : List.of(
                List.of("-f"), List.of("-c", "-p"), List.of("-x"), List.of("--handover-socket"), List.of("-sf"),
                List.of("-sf", "-c"), List.of("-sf", "abc"), List.of("-sf", "0"), List.of("-y"), List.of("cfg"),
                List.of("-f", "a\u0000b"))) {
            assertThatThrownBy(() -> ProxyArgs.parse(bad.toArray(String[]::new))).as("%s", bad)
                .isInstanceOf(ProxyArgs.Invalid.class).hasMessageNotContaining("Exception");
        }
        assertThatThrownBy(() -> ProxyArgs.parse(new String[] {"-f"}))
            .hasMessage("Missing required parameter for option '-f' (FILE)");
        assertThatThrownBy(() -> ProxyArgs.parse(new String[] {"-sf", "abc"}))
            .hasMessage("Invalid value for option '-sf' (PID): 'abc' is not a process id");
        assertThatThrownBy(() -> ProxyArgs.parse(new String[] {"-c", "cfg"}))
            .hasMessage("Unmatched argument at index 1: 'cfg'");
    }

    @Test
    void aMistakeExitsOneWithTheUsageAndNoStackTrace() {
        CliTest.Result r = CliTest.run("-c", "-f");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("[ALERT] Missing required parameter for option '-f' (FILE)")
            .contains(ProxyArgs.USAGE_LINE).doesNotContain("\tat ");
    }
}
