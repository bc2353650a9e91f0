package dev.planetary.core.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.planetary.core.config.SendProxy;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A server at an IP literal makes its address object on whichever thread first connects to it (an event loop):
 * only a bare IPv4 or IPv6 literal is taken, so that making it can never mean a DNS lookup.
 */
class ServerAtLiteralTest {

    private static Server at(String literal) {
        return Server.atLiteral("s1", literal, 7000, 1, 0, false, true, Server.Admin.READY, SendProxy.NONE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.1.2.3", "127.0.0.1", "::1", "fd00::1", "2001:db8:0:0:0:0:0:7"})
    void takesABareIpLiteralAndMakesItsAddressWithoutAName(String literal) {
        Server s = at(literal);
        assertThat(s.literal()).isEqualTo(literal);
        assertThat(s.host()).isEqualTo(literal);
        InetSocketAddress a = s.address();
        assertThat(a.isUnresolved()).isFalse();
        assertThat(a.getPort()).isEqualTo(7000);
    }

    @ParameterizedTest
    @ValueSource(strings = {"localhost", "example.com", "vm-1", "300.1.1.1", "10.1.2", "010.1.2.3", "[::1]",
        "fe80::1%eth0", "", " 10.1.2.3"})
    void refusesAnythingElse(String text) {
        assertThatThrownBy(() -> at(text)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(text);
    }

    @Test
    void refusesNull() {
        assertThatThrownBy(() -> at(null)).isInstanceOf(IllegalArgumentException.class);
    }
}
