package dev.planetary.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Shared JMH settings for every benchmark here (Netty's {@code AbstractMicrobenchmarkBase}): one fork with the JVM
 * flags the launcher ships, so that a figure measures the proxy's own configuration; short enough iterations to
 * run the whole suite in minutes. Command-line options ({@code -f}, {@code -wi}, {@code -i}, {@code -jvmArgs})
 * override all of it.
 */
@Fork(value = 1, jvmArgsAppend = {"-Xms256m", "-Xmx256m", "-XX:+UseParallelGC", "-XX:MaxDirectMemorySize=1g",
        "-Dio.netty.leakDetection.level=disabled"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public abstract class AbstractBenchmark {
}
