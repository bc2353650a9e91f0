package dev.planetary.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.registry.testing.Node;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code --store}/{@code --etcd}: bad values are refused before anything starts; an unreachable etcd, clearly. */
class StoreOptionTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "unknown store  | mysql |                                              | option --store: 'mysql' must be local or etcd",
        "etcd, no urls  | etcd  |                                              | option --etcd: give the etcd client URLs",
        "etcd bad url   | etcd  | 127.0.0.1:2379                               | option --etcd: '127.0.0.1:2379' must start with http://",
        "etcd no port   | etcd  | http://127.0.0.1                             | option --etcd: 'http://127.0.0.1' must name a host and a port",
        "etcd path      | etcd  | http://127.0.0.1:2379/v3                     | option --etcd: 'http://127.0.0.1:2379/v3' must be only scheme://host:port",
        "etcd twice     | etcd  | http://127.0.0.1:2379,http://127.0.0.1:2379  | option --etcd: 'http://127.0.0.1:2379' is listed twice",
        "etcd url local | local | http://127.0.0.1:2379                        | option --etcd needs --store etcd",
    })
    void refusedWithExit2NamingTheOptionAndNothingCreated(String name, String store, String etcd, String message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] args = etcd == null
            ? new String[] {"--data-dir", dir.resolve("never").toString(), "--store", store}
            : new String[] {"--data-dir", dir.resolve("never").toString(), "--store", store, "--etcd", etcd};
        int code = RegistryMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8), Node.TOKEN);
        assertThat(code).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).startsWith("planetary registry: " + message)
            .doesNotContain("Exception");
        assertThat(dir.resolve("never")).doesNotExist();
    }

    @Test
    void anUnreachableEtcdIsAClearErrorWithExit1() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        // port 1 on loopback: nothing listens there (connection refused at once)
        int code = RegistryMain.run(new String[] {"--data-dir", dir.resolve("d").toString(), "--listen",
            "127.0.0.1:0", "--store", "etcd", "--etcd", "http://127.0.0.1:1"},
            new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
            Node.TOKEN);
        assertThat(code).isEqualTo(1);
        String e = err.toString(StandardCharsets.UTF_8);
        assertThat(e).startsWith("planetary registry: cannot start: cannot read the port plan from etcd "
            + "[http://127.0.0.1:1]").doesNotContain("\tat ");
        assertThat(e.lines().count()).isEqualTo(1);
    }
}
