package dev.planetary.registry.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseDecoderTest {

    private final List<String> out = new ArrayList<>();
    private final SseDecoder.Sink sink = new SseDecoder.Sink() {
        @Override
        public boolean event(SseDecoder.Event e) {
            out.add("event " + e.id() + " " + e.type() + " " + e.data());
            return true;
        }

        @Override
        public boolean comment(String text) {
            out.add("comment " + text);
            return true;
        }

        @Override
        public boolean malformed(String reason) {
            out.add("malformed " + reason);
            return true;
        }
    };

    private void feed(SseDecoder d, String s) {
        ByteBuf b = Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
        try {
            d.feed(b, sink);
            assertThat(b.isReadable()).isFalse();
        } finally {
            b.release();
        }
    }

    private static final String STREAM = "retry: 2000\n\nid: 7\nevent: added\ndata: {\"a\":1}\n\n: keep-alive\n\n"
        + "id: 8\r\nevent: removed\r\ndata: {\"b\":\r\ndata: 2}\r\n\r\ndata: plain\n\n";

    @Test
    void genesisFramingInOnePiece() {
        feed(new SseDecoder(1024), STREAM);
        assertThat(out).containsExactly("event 7 added {\"a\":1}", "comment keep-alive",
            "event 8 removed {\"b\":\n2}", "event null message plain");
    }

    @Test
    void anySplitGivesTheSameEvents() {
        feed(new SseDecoder(1024), STREAM);
        List<String> whole = List.copyOf(out);
        for (int cut = 1; cut < STREAM.length(); cut++) {
            out.clear();
            SseDecoder d = new SseDecoder(1024);
            feed(d, STREAM.substring(0, cut));
            feed(d, STREAM.substring(cut));
            assertThat(out).as("split at %d", cut).isEqualTo(whole);
        }
        out.clear();
        SseDecoder d = new SseDecoder(1024);
        for (char c : STREAM.toCharArray()) {
            feed(d, String.valueOf(c));
        }
        assertThat(out).isEqualTo(whole);
    }

    @Test
    void garbageAndOverlongLinesAreReportedAndDecodingGoesOn() {
        SseDecoder d = new SseDecoder(1024);
        feed(d, "hello world\n\n");
        feed(d, "data: " + "y".repeat(3000));
        feed(d, "y".repeat(3000) + "\n\n");
        feed(d, "data: " + "z".repeat(600) + "\ndata: " + "z".repeat(600) + "\n\n");
        feed(d, "id: 1\nevent: added\ndata: {}\n\n");
        assertThat(out).containsExactly("malformed not an event-stream line: 'hello world'",
            "malformed a line longer than 1024 bytes", "malformed an event longer than 1024 bytes",
            "event 1 added {}");
    }

    /** Field and value are cut from the line's bytes: every form of the colon and space, and UTF-8 across them. */
    @Test
    void fieldsAreCutFromTheBytesAsBrowsersCutThem() {
        SseDecoder d = new SseDecoder(1024);
        feed(d, "data\n\n");
        feed(d, "id:9\nevent:added\ndata:x\n\n");
        feed(d, "id\nevent: é\ndata:  two\ndata:\ndata: ü:ö\n\n");
        feed(d, "data: \n\n");
        feed(d, ":\n: ü \n");
        feed(d, "d:ata\n");
        assertThat(out).containsExactly("event null message ", "event 9 added x", "event  é  two\n\nü:ö",
            "event null message ", "comment ", "comment ü", "malformed not an event-stream line: 'd:ata'");
    }

    @Test
    void aSinkThatStopsEndsDecoding() {
        SseDecoder d = new SseDecoder(1024);
        ByteBuf b = Unpooled.copiedBuffer("junk\nid: 1\nevent: added\ndata: {}\n\n", StandardCharsets.UTF_8);
        try {
            boolean more = d.feed(b, new SseDecoder.Sink() {
                public boolean event(SseDecoder.Event e) {
                    out.add("event");
                    return true;
                }

                public boolean comment(String text) {
                    return true;
                }

                public boolean malformed(String reason) {
                    out.add("malformed");
                    return false;
                }
            });
            assertThat(more).isFalse();
            assertThat(out).containsExactly("malformed");
        } finally {
            b.release();
        }
    }
}
