package dev.planetary.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DurationsTest {

    @ParameterizedTest(name = "{0} = {1} ms")
    @CsvSource({
        "0, 0",
        "100, 100",
        "100ms, 100",
        "1s, 1000",
        "2m, 120000",
        "3h, 10800000",
        "1d, 86400000",
        "24d, 2073600000",
        "2147483647, 2147483647",
        "2147483647ms, 2147483647",
        "2147483647000us, 2147483647",
        "35791m, 2147460000",
        // Microseconds round up to the next millisecond, as HAProxy's parse_time_err().
        "0us, 0",
        "1us, 1",
        "500us, 1",
        "1000us, 1",
        "1001us, 2",
        "007s, 7000",
    })
    void parsesHaproxyTimes(String text, long millis) {
        assertThat(Durations.parseMillis(text)).isEqualTo(millis);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
        "''|empty time value",
        "-1|negative times are not allowed",
        "-5s|negative times are not allowed",
        "1.5s|unexpected character '.' (units are us, ms, s, m, h and d)",
        "5S|unexpected character 'S' (units are us, ms, s, m, h and d)",
        "5 s|unexpected character ' ' (units are us, ms, s, m, h and d)",
        "s|unexpected character 's'",
        "5sec|unexpected character 'e' (units are us, ms, s, m, h and d)",
        "1mn|unexpected character 'n' (units are us, ms, s, m, h and d)",
        "10msx|unexpected character 'x' (units are us, ms, s, m, h and d)",
        "5x|unexpected character 'x' (units are us, ms, s, m, h and d)",
        "25d|timer overflow (maximum value is 2147483647 ms or ~24.8 days)",
        "2147483648|timer overflow (maximum value is 2147483647 ms or ~24.8 days)",
        "596524h|timer overflow (maximum value is 2147483647 ms or ~24.8 days)",
        "99999999999999999999999999999|timer overflow (maximum value is 2147483647 ms or ~24.8 days)",
        "99999999999999999999999999999d|timer overflow (maximum value is 2147483647 ms or ~24.8 days)",
        // Would wrap a long if multiplied naively (2147483647000 * 86400000).
        "2147483647000d|timer overflow (maximum value is 2147483647 ms or ~24.8 days)",
        "2147483648000us|timer overflow (maximum value is 2147483647 ms or ~24.8 days)",
        "9223372036854775807s|timer overflow (maximum value is 2147483647 ms or ~24.8 days)",
    })
    void rejectsWithTheReason(String text, String reason) {
        assertThatThrownBy(() -> Durations.parseMillis(text))
                .isInstanceOfSatisfying(Durations.InvalidDurationException.class, e -> {
                    assertThat(e.reason()).isEqualTo(reason);
                    assertThat(e.input()).isEqualTo(text);
                    assertThat(e.getMessage()).isEqualTo("invalid time '" + text + "': " + reason);
                });
    }

    @org.junit.jupiter.api.Test
    void rejectsNull() {
        assertThatThrownBy(() -> Durations.parseMillis(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("invalid time '': empty time value");
    }
}
