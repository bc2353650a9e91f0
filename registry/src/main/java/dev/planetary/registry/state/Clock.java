package dev.planetary.registry.state;

/** Time for the registry: monotonic nanos for liveness, wall-clock millis for timestamps shown to people. */
public interface Clock {
    long nanos();

    long millis();

    static Clock system() {
        return new Clock() {
            @Override
            public long nanos() { return System.nanoTime(); }

            @Override
            public long millis() { return System.currentTimeMillis(); }
        };
    }
}
