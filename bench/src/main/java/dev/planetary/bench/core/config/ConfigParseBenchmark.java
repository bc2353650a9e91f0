package dev.planetary.bench.core.config;

import dev.planetary.bench.AbstractBenchmark;
import dev.planetary.core.config.ConfigParser;
import dev.planetary.core.config.ConfigResult;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Parsing and validating the shipped {@code conf/planetary.cfg} (22,001 ports in 4 listen sections) from its text:
 * what a start or a reload pays before binding. The file is read from the clone ({@code conf/planetary.cfg} in the
 * working directory or above) or, when run elsewhere, from the copy in the benchmarks jar.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ConfigParseBenchmark extends AbstractBenchmark {

    private String text;

    @Setup
    public void setup() {
        text = shippedConfig();
        ConfigResult r = ConfigParser.parse("planetary.cfg", text);
        if (!r.ok()) {
            throw new IllegalStateException("the shipped config does not parse: " + r.errors());
        }
    }

    @Benchmark
    public ConfigResult parse() {
        return ConfigParser.parse("planetary.cfg", text);
    }

    static String shippedConfig() {
        try {
            Path d = Path.of("").toAbsolutePath();
            for (int i = 0; i < 6 && d != null; i++, d = d.getParent()) {
                Path f = d.resolve("conf/planetary.cfg");
                if (Files.isRegularFile(f)) {
                    return Files.readString(f);
                }
            }
            try (InputStream in = ConfigParseBenchmark.class.getResourceAsStream("/bench-conf/planetary.cfg")) {
                if (in == null) {
                    throw new IllegalStateException("conf/planetary.cfg not found");
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
