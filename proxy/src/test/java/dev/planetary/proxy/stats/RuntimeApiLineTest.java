package dev.planetary.proxy.stats;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** How a command line is cut into commands, as HAProxy's CLI does. */
class RuntimeApiLineTest {

    @Test
    void semicolonsSeparateCommandsUnlessEscaped() {
        assertThat(RuntimeApi.splitCommands("show info;show stat")).containsExactly("show info", "show stat");
        assertThat(RuntimeApi.splitCommands("set server b/s state maint; del server b/s"))
            .containsExactly("set server b/s state maint", " del server b/s");
        assertThat(RuntimeApi.splitCommands("a\\;b;c")).containsExactly("a;b", "c");
        assertThat(RuntimeApi.splitCommands("")).containsExactly("");
    }
}
