package dev.planetary.registry.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.registry.state.Faults;
import dev.planetary.registry.testing.FakeClock;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Accepting out of descriptors: a pause, a retry, one episode however many failures, each a fault of Genesis'. */
class AcceptBackoffTest {

    @Test
    void failuresPauseAcceptingCountAsOneEpisodeAndAreReportedAsFaults() {
        Faults faults = new Faults();
        AcceptBackoff b = new AcceptBackoff(faults, new FakeClock());
        EmbeddedChannel listener = new EmbeddedChannel(b);
        IOException emfile = new IOException("accept(..) failed: Too many open files");
        for (int i = 0; i < 50; i++) {
            listener.pipeline().fireExceptionCaught(emfile);
            assertThat(listener.config().isAutoRead()).as("not accepting during the back-off").isFalse();
            listener.advanceTimeBy(AcceptBackoff.BACKOFF_MILLIS, TimeUnit.MILLISECONDS);
            listener.runScheduledPendingTasks();
            assertThat(listener.config().isAutoRead()).as("trying again after it").isTrue();
        }
        listener.checkException(); // nothing reached the end of the pipeline (Netty would log each there)
        assertThat(b.failures()).isEqualTo(50);
        assertThat(b.episodes()).isEqualTo(1);
        assertThat(faults.reports()).as("each failure and each retry while failing").isEqualTo(100);

        EmbeddedChannel child = new EmbeddedChannel();
        listener.writeInbound(child); // an accepted connection ends the episode
        assertThat((Object) listener.readInbound()).isSameAs(child);
        listener.pipeline().fireExceptionCaught(emfile);
        assertThat(b.episodes()).isEqualTo(2);
        listener.finishAndReleaseAll();
        child.finishAndReleaseAll();
    }
}
