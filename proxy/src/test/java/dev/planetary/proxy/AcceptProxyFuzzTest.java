package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.UnpooledByteBufAllocator;

import java.util.Arrays;

/**
 * Coverage-guided fuzzing of the accept-proxy path (guard, Netty's decoder, reader) on an embedded channel (Jazzer).
 * The seed corpus under {@code src/test/resources/dev/planetary/proxy/AcceptProxyFuzzTestInputs/accept/} runs as
 * regression tests in the normal build; {@code JAZZER_FUZZ=1} fuzzes for {@link #MAX_DURATION}.
 *
 * <p>Input: the first byte is the read size (1 to 64 bytes per read, so headers are split everywhere), the rest is
 * what the client sends. Whatever it is: no exception escapes the pipeline, no buffer leaks (every buffer comes from
 * an unpooled allocator that counts the bytes it has out), and the connection either starts exactly once with the
 * bytes after the header intact and in order, or is refused and counted exactly once (at the latest when the
 * header's timeout fires), with nothing reaching the session.
 */
class AcceptProxyFuzzTest {

    /** Bound of one CI fuzzing run: tens of seconds per target keeps the fuzz step under two minutes. */
    static final String MAX_DURATION = "15s";

    @FuzzTest(maxDuration = MAX_DURATION)
    void accept(byte[] input) {
        if (input.length == 0) {
            return;
        }
        int chunk = 1 + (input[0] & 63);
        byte[] sent = Arrays.copyOfRange(input, 1, input.length);
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false);
        EmbeddedAcceptProxy e = new EmbeddedAcceptProxy(alloc);
        e.feed(sent, chunk); // an exception reaching the pipeline's end is rethrown here
        if (e.activeCalls == 0) {
            assertThat(e.data.size()).as("nothing before the session starts").isZero();
            e.advance(EmbeddedAcceptProxy.TIMEOUT_MS); // refused now if it was still waiting for the header
            assertThat(e.channel.isOpen()).isFalse();
            assertThat(e.badHeaders.sum()).as("counted once").isEqualTo(1);
            assertThat(e.proxiedCalls).isZero();
        } else {
            assertThat(e.activeCalls).isEqualTo(1);
            assertThat(e.badHeaders.sum()).isZero();
            assertThat(e.proxiedCalls).isLessThanOrEqualTo(1);
            assertThat(e.bytesBeforeActive).isZero();
            byte[] data = e.data.toByteArray();
            byte[] tail = Arrays.copyOfRange(sent, sent.length - data.length, sent.length);
            assertThat(data).as("the bytes after the header, in order").isEqualTo(tail);
            assertThat(sent.length - data.length).as("header length").isBetween(15, 16 + 65535);
        }
        e.channel.close();
        e.close();
        assertThat(e.badHeaders.sum()).isLessThanOrEqualTo(1);
        assertThat(alloc.metric().usedHeapMemory()).as("every buffer released").isZero();
        assertThat(alloc.metric().usedDirectMemory()).as("every buffer released").isZero();
    }
}
