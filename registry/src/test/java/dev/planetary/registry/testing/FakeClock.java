package dev.planetary.registry.testing;

import dev.planetary.registry.state.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A clock tests move by hand. */
public final class FakeClock implements Clock {
    private final AtomicLong nanos = new AtomicLong(1_000_000_000_000L);
    private final AtomicLong millis = new AtomicLong(1_700_000_000_000L);

    @Override
    public long nanos() { return nanos.get(); }

    @Override
    public long millis() { return millis.get(); }

    public void advance(Duration d) {
        nanos.addAndGet(d.toNanos());
        millis.addAndGet(d.toMillis());
    }
}
