package dev.planetary.core.config;

/**
 * HAProxy's time format (configuration manual section 2.5): a decimal number optionally followed by one unit,
 * {@code us}, {@code ms}, {@code s}, {@code m}, {@code h} or {@code d}; a bare number is milliseconds.
 *
 * <p>Follows {@code parse_time_err()} in HAProxy's {@code src/tools.c}: units are lower case only, no sign, no
 * fraction, no space between number and unit; microseconds are rounded up to the next millisecond (so
 * {@code 1us} is 1 ms and only {@code 0us} is 0); results of 2^31 ms or more are an overflow, because HAProxy's
 * timers (and ours, which share its config files) are signed 32-bit milliseconds.
 */
public final class Durations {

    /** Largest accepted time, as HAProxy: 2147483647 ms, about 24.8 days. */
    public static final long MAX_MILLIS = Integer.MAX_VALUE;

    private Durations() {
    }

    /**
     * Parses a time in HAProxy's format into milliseconds.
     *
     * @throws InvalidDurationException with a message naming the input and the reason, when {@code text} is
     *     null, empty, negative, not a number with a known unit, or larger than {@link #MAX_MILLIS}
     */
    public static long parseMillis(String text) {
        if (text == null || text.isEmpty()) {
            throw new InvalidDurationException(text == null ? "" : text, "empty time value");
        }
        int i = 0;
        int n = text.length();
        if (text.charAt(0) == '-') {
            throw new InvalidDurationException(text, "negative times are not allowed");
        }
        if (!isDigit(text.charAt(0))) {
            throw new InvalidDurationException(text, "unexpected character '" + text.charAt(0) + "'");
        }
        long value = 0;
        boolean overflow = false;
        while (i < n && isDigit(text.charAt(i))) {
            if (!overflow) {
                value = value * 10 + (text.charAt(i) - '0');
                // Past this bound the result overflows whatever the unit (even us); stop before a long wraps.
                overflow = value > MAX_MILLIS * 1000L;
            }
            i++;
        }
        String unit = text.substring(i);
        long millis;
        if (unit.equals("us")) {
            millis = (value + 999) / 1000;
        } else {
            long multiplier = switch (unit) {
                case "", "ms" -> 1L;
                case "s" -> 1_000L;
                case "m" -> 60_000L;
                case "h" -> 3_600_000L;
                case "d" -> 86_400_000L;
                default -> throw new InvalidDurationException(text, unexpectedUnit(unit));
            };
            // value * multiplier > MAX exactly when value > floor(MAX / multiplier): never multiply past a long.
            overflow |= value > MAX_MILLIS / multiplier;
            millis = overflow ? 0 : value * multiplier;
        }
        if (overflow || millis > MAX_MILLIS) {
            throw new InvalidDurationException(text,
                    "timer overflow (maximum value is " + MAX_MILLIS + " ms or ~24.8 days)");
        }
        return millis;
    }

    private static String unexpectedUnit(String unit) {
        // Name the first character HAProxy would stop at: "5mn" -> 'n', "5x" -> 'x', "1.5s" -> '.'.
        char bad = unit.charAt(0);
        if (unit.length() > 1 && (bad == 'u' || bad == 'm') && unit.charAt(1) == 's') {
            bad = unit.charAt(2);
        } else if (unit.length() > 1 && "smhd".indexOf(bad) >= 0) {
            bad = unit.charAt(1);
        }
        return "unexpected character '" + bad + "' (units are us, ms, s, m, h and d)";
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** A time value that is not in HAProxy's format; the message names the input and the reason. */
    public static final class InvalidDurationException extends IllegalArgumentException {

        private final String input;
        private final String reason;

        InvalidDurationException(String input, String reason) {
            super("invalid time '" + input + "': " + reason);
            this.input = input;
            this.reason = reason;
        }

        /** The text that failed to parse. */
        public String input() {
            return input;
        }

        /** Why it failed, without the input, e.g. {@code unexpected character '.'}. */
        public String reason() {
            return reason;
        }
    }
}
