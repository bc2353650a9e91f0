package dev.planetary.registry.client;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Splits a Server-Sent Events stream into events, as Genesis writes it ({@code id:}, {@code event:}, {@code data:}
 * lines, a blank line ending each event, {@code :} comments, {@code retry:}). Stricter than a browser: a line that is
 * not one of those fields is reported as malformed (Genesis never sends one, so it means a broken or foreign
 * stream), and a line or event longer than the cap is reported instead of being buffered. Not thread-safe: one
 * decoder per connection, fed on its event loop.
 */
final class SseDecoder {

    /** One complete event. {@code id} is null when the event had no {@code id:} line. */
    record Event(String id, String type, String data) {
    }

    /** Where decoded items go; each method returns false to stop decoding (the connection is being dropped). */
    interface Sink {
        boolean event(Event e);

        boolean comment(String text);

        boolean malformed(String reason);
    }

    /** A line buffer grown past this is dropped once its line is decoded (see {@link #feed}). */
    private static final int KEPT_LINE_BYTES = 16 * 1024;

    private final int maxBytes;
    private byte[] line = new byte[256];
    private int lineLen;
    private boolean skipping;
    private String id;
    private String type;
    /**
     * The event's data: its first line as it came, a builder only from a second {@code data:} line on. Genesis sends
     * each event as one line (a relist of 1,999 VMs is one ~0.5 MB line), so the usual event costs one copy of it.
     */
    private String firstData;
    private StringBuilder data;

    SseDecoder(int maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** Decodes what {@code in} holds; the bytes are consumed. False when a sink method asked to stop. */
    boolean feed(ByteBuf in, Sink sink) {
        while (in.isReadable()) {
            int lf = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\n');
            int end = lf < 0 ? in.writerIndex() : lf;
            int n = end - in.readerIndex();
            if (!skipping) {
                if (lineLen + n > maxBytes) {
                    skipping = true;
                    lineLen = 0;
                    line = new byte[256];
                } else {
                    ensure(lineLen + n);
                    in.getBytes(in.readerIndex(), line, lineLen, n);
                    lineLen += n;
                }
            }
            in.readerIndex(lf < 0 ? end : end + 1);
            if (lf < 0) {
                return true;
            }
            if (skipping) {
                skipping = false;
                reset();
                if (!sink.malformed("a line longer than " + maxBytes + " bytes")) {
                    return false;
                }
                continue;
            }
            int len = lineLen > 0 && line[lineLen - 1] == '\r' ? lineLen - 1 : lineLen;
            lineLen = 0;
            boolean more = line(len, sink);
            if (line.length > KEPT_LINE_BYTES) {
                // A relist's snapshot is one line of ~0.5 MB: kept, the buffer would be copied by every young
                // collection until it is old (issue 8's relist pauses); a snapshot is rare, so regrow it then.
                line = new byte[256];
            }
            if (!more) {
                return false;
            }
        }
        return true;
    }

    private void ensure(int cap) {
        if (cap > line.length) {
            line = Arrays.copyOf(line, Math.max(cap, Math.min(maxBytes, line.length * 2)));
        }
    }

    /**
     * One line of {@code len} bytes in {@link #line}. Field and value are cut from the bytes (a ':' or ' ' byte is
     * never part of a multi-byte UTF-8 character), so a long data line is decoded once, not copied again per cut.
     */
    private boolean line(int len, SseDecoder.Sink sink) {
        if (len == 0) {
            if (firstData == null) {
                reset();
                return true; // a blank line with no data: nothing to dispatch (as a browser does)
            }
            Event e = new Event(id, type == null ? "message" : type, data != null ? data.toString() : firstData);
            reset();
            return sink.event(e);
        }
        if (line[0] == ':') {
            return sink.comment(new String(line, 1, len - 1, StandardCharsets.UTF_8).trim());
        }
        int colon = 0;
        while (colon < len && line[colon] != ':') {
            colon++;
        }
        String field = new String(line, 0, colon, StandardCharsets.UTF_8);
        int from = colon + 1 < len && line[colon + 1] == ' ' ? colon + 2 : Math.min(len, colon + 1);
        switch (field) {
            case "id" -> id = value(from, len);
            case "event" -> type = value(from, len);
            case "retry" -> { } // Genesis' hint for browsers; the watch has its own backoff
            case "data" -> {
                String value = value(from, len);
                if (firstData == null) {
                    firstData = value; // no longer than maxBytes: its line was not (feed)
                    return true;
                }
                if (data == null) {
                    data = new StringBuilder(firstData.length() + 1 + value.length()).append(firstData);
                }
                if (data.length() + 1 + value.length() > maxBytes) {
                    reset();
                    return sink.malformed("an event longer than " + maxBytes + " bytes");
                }
                data.append('\n').append(value);
            }
            default -> {
                reset();
                return sink.malformed("not an event-stream line: '"
                    + printable(new String(line, 0, len, StandardCharsets.UTF_8)) + "'");
            }
        }
        return true;
    }

    private String value(int from, int len) {
        return new String(line, from, len - from, StandardCharsets.UTF_8);
    }

    private void reset() {
        id = null;
        type = null;
        firstData = null;
        data = null;
    }

    /** At most 60 characters, control characters replaced: safe to put in a log line. */
    static String printable(String s) {
        String t = s.length() > 60 ? s.substring(0, 60) + "..." : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
