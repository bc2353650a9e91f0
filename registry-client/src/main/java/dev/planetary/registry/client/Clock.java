package dev.planetary.registry.client;

/** Monotonic time for the watch and the agent, so that tests can drive it. */
@FunctionalInterface
public interface Clock {

    Clock SYSTEM = System::nanoTime;

    long nanos();
}
