package dev.planetary.proxy.log;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The reused line buffer: numbers as Long.toString writes them, non-ASCII as '?', and a full buffer cuts. */
class AsciiLineTest {

    @Test
    void numbersAreWrittenAsLongToStringWritesThem() {
        AsciiLine l = new AsciiLine(512);
        long[] values = {0, 7, 10, 99, 100, 55756, -1, -10, Integer.MAX_VALUE, Integer.MIN_VALUE, Long.MAX_VALUE,
            Long.MIN_VALUE};
        StringBuilder expected = new StringBuilder();
        for (long v : values) {
            l.put(v).put(' ');
            expected.append(v).append(' ');
        }
        assertThat(l).hasToString(expected.toString());
        l.clear();
        assertThat(l.two(5).put(':').two(42).put('.').three(7).put('.').three(975)).hasToString("05:42.007.975");
    }

    @Test
    void charactersOutsidePrintableAsciiBecomeQuestionMarks() {
        AsciiLine l = new AsciiLine(64);
        l.put("fe\u00e9\n\t~ ").put('\u0000').put('A');
        assertThat(l).hasToString("fe???~ ?A");
    }

    @Test
    void aMissingTextIsWrittenAsADash() {
        AsciiLine l = new AsciiLine(16);
        l.put("fe").put(' ').put((CharSequence) null).put('/').put("s1");
        assertThat(l).hasToString("fe -/s1");
    }

    @Test
    void aLineLongerThanTheBufferIsCutWhereverItEnds() {
        AsciiLine l = new AsciiLine(8);
        l.put("abcdef").put(123_456L);
        assertThat(l).hasToString("abcdef12").extracting(AsciiLine::length).isEqualTo(8);
        l.put('x').put("more").put(new byte[]{'y'}).put(9L).two(10);
        assertThat(l).hasToString("abcdef12");

        AsciiLine other = new AsciiLine(5);
        other.put("0123456789");
        AsciiLine into = new AsciiLine(7);
        into.put("ab").put(other).put(other);
        assertThat(other).hasToString("01234");
        assertThat(into).hasToString("ab01234");

        StringBuilder sb = new StringBuilder("> ");
        into.appendTo(sb);
        assertThat(sb).hasToString("> ab01234");
    }
}
