package dev.planetary.registry.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.Arrays;

/**
 * Coverage-guided fuzzing of the registry's request bodies (Jazzer): the seed corpus under
 * {@code src/test/resources/dev/planetary/registry/http/BodiesFuzzTestInputs/decode/} runs as regression tests in the
 * normal build; {@code JAZZER_FUZZ=1} fuzzes for {@link #MAX_DURATION}.
 *
 * <p>The contract: a body is accepted or refused with a 400 {@link ApiException} (never another exception, which the
 * handler would answer with a 500); a body that is a JSON object but is refused names the field at fault.
 *
 * <p>Input: the first byte picks the body's endpoint (even: registration, odd: heartbeat), the rest is the body.
 */
class BodiesFuzzTest {

    /** Bound of one CI fuzzing run: tens of seconds per target keeps the fuzz step under two minutes. */
    static final String MAX_DURATION = "15s";

    @FuzzTest(maxDuration = MAX_DURATION)
    void decode(byte[] input) {
        if (input.length == 0) {
            return;
        }
        boolean registration = (input[0] & 1) == 0;
        byte[] body = Arrays.copyOfRange(input, 1, input.length);
        boolean object = isObject(body, registration);
        try {
            if (registration) {
                assertThat(Bodies.registration(body)).isNotNull();
            } else {
                assertThat(Bodies.heartbeat(body)).hasSize(2);
            }
        } catch (ApiException e) {
            assertThat(e.status()).isEqualTo(HttpResponseStatus.BAD_REQUEST);
            assertThat(e.getMessage()).isNotBlank();
            if (object) {
                assertThat(e.getMessage()).as("names the field").contains("field '");
            }
        }
    }

    /** True when the body parses as a JSON object (so a refusal is about one of its fields). */
    private static boolean isObject(byte[] body, boolean required) {
        try {
            return Bodies.parse(body, required) != null;
        } catch (ApiException e) {
            assertThat(e.status()).isEqualTo(HttpResponseStatus.BAD_REQUEST);
            return false;
        }
    }
}
