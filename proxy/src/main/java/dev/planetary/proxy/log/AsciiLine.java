package dev.planetary.proxy.log;

/**
 * One log line being built, as bytes in a buffer reused for every line (the log thread formats straight into it: no
 * String, StringBuilder or char conversion per line). What does not fit is cut, as a target's {@code len} cuts;
 * characters outside printable ASCII become '?', as HAProxy escapes them in a log line.
 */
final class AsciiLine {

    private final byte[] bytes;
    private int length;

    AsciiLine(int capacity) {
        this.bytes = new byte[capacity];
    }

    void clear() {
        length = 0;
    }

    int length() {
        return length;
    }

    /** The buffer itself (valid up to {@link #length()}); overwritten by the next line. */
    byte[] array() {
        return bytes;
    }

    AsciiLine put(char c) {
        if (length < bytes.length) {
            bytes[length++] = c < 0x20 || c > 0x7e ? (byte) '?' : (byte) c;
        }
        return this;
    }

    AsciiLine put(CharSequence s) {
        if (s == null) {
            return put('-'); // HAProxy's mark for a field it has no value for
        }
        int n = s.length();
        for (int i = 0; i < n && length < bytes.length; i++) {
            char c = s.charAt(i);
            bytes[length++] = c < 0x20 || c > 0x7e ? (byte) '?' : (byte) c;
        }
        return this;
    }

    /** Bytes already known to be printable ASCII (a cached date, a tag). */
    AsciiLine put(byte[] ascii, int len) {
        int n = Math.min(len, bytes.length - length);
        System.arraycopy(ascii, 0, bytes, length, n);
        length += n;
        return this;
    }

    AsciiLine put(byte[] ascii) {
        return put(ascii, ascii.length);
    }

    /** Appends {@code other}'s bytes so far (cut, as every put, where this line is full). */
    AsciiLine put(AsciiLine other) {
        return put(other.bytes, other.length);
    }

    /** A decimal number, as {@code Long.toString} writes it, without the String. */
    AsciiLine put(long v) {
        if (v < 0) {
            if (v == Long.MIN_VALUE) {
                return put("-9223372036854775808");
            }
            put('-');
            v = -v;
        }
        int digits = 1;
        for (long t = v; t >= 10; t /= 10) {
            digits++;
        }
        int end = Math.min(bytes.length, length + digits);
        // digits beyond the buffer are cut: write from the last digit that fits
        long rest = v;
        for (int i = length + digits - 1; i >= length; i--) {
            if (i < end) {
                bytes[i] = (byte) ('0' + rest % 10);
            }
            rest /= 10;
        }
        length = end;
        return this;
    }

    /** Two digits, zero-padded (a day, an hour). */
    AsciiLine two(int v) {
        return put((char) ('0' + v / 10 % 10)).put((char) ('0' + v % 10));
    }

    /** Three digits, zero-padded (milliseconds). */
    AsciiLine three(int v) {
        return put((char) ('0' + v / 100 % 10)).two(v % 100);
    }

    void appendTo(StringBuilder out) {
        for (int i = 0; i < length; i++) {
            out.append((char) bytes[i]);
        }
    }

    @Override
    public String toString() {
        return new String(bytes, 0, length, java.nio.charset.StandardCharsets.US_ASCII);
    }
}
