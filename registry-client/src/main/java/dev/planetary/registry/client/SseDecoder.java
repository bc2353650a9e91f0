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

    private final int maxBytes;
    private byte[] line = new byte[256];
    private int lineLen;
    private boolean skipping;
    private String id;
    private String type;
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
            if (!line(new String(line, 0, len, StandardCharsets.UTF_8), sink)) {
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

    private boolean line(String s, SseDecoder.Sink sink) {
        if (s.isEmpty()) {
            if (data == null) {
                reset();
                return true; // a blank line with no data: nothing to dispatch (as a browser does)
            }
            Event e = new Event(id, type == null ? "message" : type, data.toString());
            reset();
            return sink.event(e);
        }
        if (s.charAt(0) == ':') {
            return sink.comment(s.substring(1).trim());
        }
        int colon = s.indexOf(':');
        String field = colon < 0 ? s : s.substring(0, colon);
        String value = colon < 0 ? "" : s.substring(colon + 1);
        if (value.startsWith(" ")) {
            value = value.substring(1);
        }
        switch (field) {
            case "id" -> id = value;
            case "event" -> type = value;
            case "retry" -> { } // Genesis' hint for browsers; the watch has its own backoff
            case "data" -> {
                if (data == null) {
                    data = new StringBuilder(value.length());
                } else {
                    data.append('\n');
                }
                if (data.length() + value.length() > maxBytes) {
                    reset();
                    return sink.malformed("an event longer than " + maxBytes + " bytes");
                }
                data.append(value);
            }
            default -> {
                reset();
                return sink.malformed("not an event-stream line: '" + printable(s) + "'");
            }
        }
        return true;
    }

    private void reset() {
        id = null;
        type = null;
        data = null;
    }

    /** At most 60 characters, control characters replaced: safe to put in a log line. */
    static String printable(String s) {
        String t = s.length() > 60 ? s.substring(0, 60) + "..." : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
