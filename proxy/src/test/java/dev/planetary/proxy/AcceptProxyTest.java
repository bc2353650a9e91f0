package dev.planetary.proxy;

import static dev.planetary.proxy.EmbeddedAcceptProxy.ascii;
import static dev.planetary.proxy.EmbeddedAcceptProxy.concat;
import static dev.planetary.proxy.EmbeddedAcceptProxy.v2;
import static org.assertj.core.api.Assertions.assertThat;

import dev.planetary.core.config.SendProxy;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;

/** The accept-proxy handler on an embedded channel: what reaches the session, what is refused, and the counter. */
class AcceptProxyTest {

    private static final String V1 = "PROXY TCP4 192.0.2.7 198.51.100.1 40000 443\r\n";
    /** Bytes that follow the header: every value, so a lost, doubled or reordered byte shows. */
    private static final byte[] DATA = new byte[600];

    static {
        for (int i = 0; i < DATA.length; i++) {
            DATA[i] = (byte) (i * 7 + i / 256);
        }
    }

    private static void assertStarted(EmbeddedAcceptProxy e, String src, int sport, String dst, int dport) {
        assertThat(e.badHeaders.sum()).isZero();
        assertThat(e.proxiedCalls).isEqualTo(1);
        assertThat(e.source).isEqualTo(new InetSocketAddress(src, sport));
        assertThat(e.destination).isEqualTo(new InetSocketAddress(dst, dport));
        assertThat(e.activeCalls).isEqualTo(1);
        assertThat(e.bytesBeforeActive).isZero();
        assertThat(e.channel.isOpen()).isTrue();
        // the header's handlers are gone: the session's handler is all that is left
        assertThat(e.channel.pipeline().names()).hasSize(2); // the recorder and the embedded channel's tail
    }

    @ParameterizedTest(name = "chunks of {0} bytes")
    @ValueSource(ints = {1, 2, 3, 13, 16, 47, 100, 10_000})
    void v1HeaderThenDataInAnySplit(int chunk) {
        try (EmbeddedAcceptProxy e = new EmbeddedAcceptProxy()) {
            e.feed(concat(ascii(V1), DATA), chunk);
            assertStarted(e, "192.0.2.7", 40000, "198.51.100.1", 443);
            assertThat(e.data.toByteArray()).isEqualTo(DATA);
        }
    }

    @ParameterizedTest(name = "chunks of {0} bytes")
    @ValueSource(ints = {1, 5, 12, 16, 27, 28, 29, 10_000})
    void v2HeaderThenDataInAnySplit(int chunk) {
        try (EmbeddedAcceptProxy e = new EmbeddedAcceptProxy()) {
            e.feed(concat(v2("2001:db8::5", 51000, "2001:db8::1", 22), DATA), chunk);
            assertStarted(e, "2001:db8::5", 51000, "2001:db8::1", 22);
            assertThat(e.data.toByteArray()).isEqualTo(DATA);
        }
    }

    @Test
    void dataAfterTheHeaderInLaterReadsKeepsItsOrder() {
        try (EmbeddedAcceptProxy e = new EmbeddedAcceptProxy()) {
            e.feed(v2("10.1.2.3", 1234, "10.0.0.1", 80), 10_000);
            assertStarted(e, "10.1.2.3", 1234, "10.0.0.1", 80);
            e.feed(DATA, 17);
            assertThat(e.data.toByteArray()).isEqualTo(DATA);
        }
    }

    @Test
    void localCommandAndUnknownKeepTheSocketsAddresses() {
        byte[] local = EmbeddedAcceptProxy.encode(new HAProxyMessage(HAProxyProtocolVersion.V2, HAProxyCommand.LOCAL,
            HAProxyProxiedProtocol.UNKNOWN, null, null, 0, 0));
        for (byte[] header : new byte[][] {local, ascii("PROXY UNKNOWN\r\n"),
            ascii("PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n")}) {
            try (EmbeddedAcceptProxy e = new EmbeddedAcceptProxy()) {
                e.feed(concat(header, ascii("hello")), 10_000);
                assertThat(e.badHeaders.sum()).isZero();
                assertThat(e.proxiedCalls).isZero();
                assertThat(e.activeCalls).isEqualTo(1);
                assertThat(e.dataText()).isEqualTo("hello");
            }
        }
    }

    @Test
    void v1LineOf107BytesIsTheLongestAccepted() {
        String longest = v1OfLength(107);
        assertThat(longest).hasSize(AcceptProxy.V1_MAX_BYTES);
        try (EmbeddedAcceptProxy e = new EmbeddedAcceptProxy()) {
            e.feed(ascii(longest + "x"), 1);
            assertThat(e.badHeaders.sum()).isZero();
            assertThat(e.activeCalls).isEqualTo(1);
            assertThat(e.dataText()).isEqualTo("x");
        }
        for (int chunk : new int[] {1, 200}) {
            try (EmbeddedAcceptProxy e = new EmbeddedAcceptProxy()) {
                e.feed(ascii(v1OfLength(108) + "x"), chunk);
                refused(e);
            }
        }
    }

    /** A valid v1 line of exactly {@code n} bytes, CRLF included: TCP6 with padded (leading-zero) ports. */
    private static String v1OfLength(int n) {
        String base = "PROXY TCP6 ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
        String addr = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        String line = "PROXY TCP6 " + addr + " " + addr + " 65535 65535\r\n";
        assertThat(base).isNotEmpty();
        StringBuilder pad = new StringBuilder();
        while (line.length() + pad.length() < n) {
            pad.append(' ');
        }
        // extra spaces go before the CRLF: HAProxy and Netty both split on single spaces, so pad the last field
        return line.substring(0, line.length() - 2) + pad + "\r\n";
    }

    private static void refused(EmbeddedAcceptProxy e) {
        assertThat(e.badHeaders.sum()).as("counted once").isEqualTo(1);
        assertThat(e.channel.isOpen()).as("closed").isFalse();
        assertThat(e.activeCalls).as("the session never started").isZero();
        assertThat(e.data.size()).as("nothing reached the session").isZero();
        assertThat(e.inactiveCalls).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",       // a client without a header: refused on its first byte
        "SSH-2.0-OpenSSH_9.2\r\n",
        "PROXY\r\n",
        "PROXY TCP4 1.2.3.4\r\n padding to thirteen",
        "PROXY TCP4 1.2.3.4 5.6.7.8 70000 80\r\n",
        "PROXY TCP4 ::1 ::1 1 2\r\n",
        "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",         // LF without CR: the line never ends within the limit
        "\r\n\r\n\u0000\r\nQUIT\n\u0021\u0011\u0000\u0003abc",  // v2, length shorter than an IPv4 block
        "\r\n\r\n\u0000\r\nQUIT\n\u0031\u0011\u0000\u000c" + "123412341212",  // version 3
        "\r\nX",
    })
    void malformedOrMissingHeaderIsClosedAndCounted(String input) {
        for (int chunk : new int[] {1, 10_000}) {
            try (EmbeddedAcceptProxy e = new EmbeddedAcceptProxy()) {
                e.feed(concat(ascii(input), new byte[200]), chunk);
                refused(e);
            }
        }
    }

    @Test
    void headerNotCompleteWithinTheTimeoutIsClosedAndCounted() {
        try (EmbeddedAcceptProxy e = new EmbeddedAcceptProxy()) {
            e.feed(ascii("PROXY TCP4 1.2.3.4"), 1);
            e.advance(EmbeddedAcceptProxy.TIMEOUT_MS - 1);
            assertThat(e.channel.isOpen()).isTrue();
            e.advance(1);
            refused(e);
        }
        try (EmbeddedAcceptProxy e = new EmbeddedAcceptProxy()) {
            e.advance(EmbeddedAcceptProxy.TIMEOUT_MS); // nothing at all
            refused(e);
        }
    }

    @Test
    void timerIsCancelledOnceTheHeaderIsRead() {
        try (EmbeddedAcceptProxy e = new EmbeddedAcceptProxy()) {
            e.feed(ascii(V1), 10_000);
            e.advance(EmbeddedAcceptProxy.TIMEOUT_MS * 2);
            assertThat(e.channel.isOpen()).isTrue();
            assertThat(e.badHeaders.sum()).isZero();
        }
    }

    @Test
    void finOrCloseBeforeTheHeaderIsCountedOnce() {
        try (EmbeddedAcceptProxy e = new EmbeddedAcceptProxy()) {
            e.feed(ascii("PROXY TCP4 1.2"), 3);
            e.channel.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            refused(e);
        }
        try (EmbeddedAcceptProxy e = new EmbeddedAcceptProxy()) {
            e.feed(ascii("\r\n\r\n"), 1);
            e.channel.close();
            refused(e);
        }
    }

    @Test
    void theHeaderIsNotReadTwice() {
        // a second header after the first is the client's data, not a header
        try (EmbeddedAcceptProxy e = new EmbeddedAcceptProxy()) {
            e.feed(ascii(V1 + V1), 10_000);
            assertStarted(e, "192.0.2.7", 40000, "198.51.100.1", 443);
            assertThat(e.dataText()).isEqualTo(V1);
        }
    }

    @Test
    void sendProxyMessagesMapIPv4ToIPv6WhenTheFamiliesDiffer() {
        HAProxyMessage m = SendProxyHeader.proxied(SendProxy.V1, new InetSocketAddress("192.0.2.1", 5),
            new InetSocketAddress("2001:db8::1", 6));
        try {
            assertThat(m.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP6);
            assertThat(m.sourceAddress()).isEqualTo("::ffff:192.0.2.1");
        } finally {
            m.release();
        }
        byte[] v1 = EmbeddedAcceptProxy.encode(SendProxyHeader.proxied(SendProxy.V1,
            new InetSocketAddress("192.0.2.1", 5), new InetSocketAddress("192.0.2.2", 6)));
        assertThat(new String(v1, java.nio.charset.StandardCharsets.US_ASCII))
            .isEqualTo("PROXY TCP4 192.0.2.1 192.0.2.2 5 6\r\n");
    }
}
