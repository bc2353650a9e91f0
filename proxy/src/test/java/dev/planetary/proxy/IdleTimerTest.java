package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import org.junit.jupiter.api.Test;

/** Idle timeouts through the relay with the time frozen and moved by hand: no sleeping. */
class IdleTimerTest {

    @Test
    void activityKeepsTheConnectionOpenPastTheTimeout() {
        try (EmbeddedRelay r = new EmbeddedRelay("timeout client 500ms\ntimeout server 500ms").connect()) {
            for (int i = 0; i < 8; i++) { // 8 x 200 ms = 1.6 s of traffic, each gap under 500 ms
                r.advanceMs(200);
                if (i % 2 == 0) {
                    r.client.writeInbound(Unpooled.wrappedBuffer(new byte[] {1}));
                    ((io.netty.buffer.ByteBuf) r.server.readOutbound()).release();
                } else {
                    r.server.writeInbound(Unpooled.wrappedBuffer(new byte[] {2}));
                    ((io.netty.buffer.ByteBuf) r.client.readOutbound()).release();
                }
            }
            assertThat(r.timeouts.get()).isZero();
            r.advanceMs(499);
            assertThat(r.timeouts.get()).isZero();
            r.advanceMs(1);
            assertThat(r.timeouts.get()).as("500 ms after the last byte").isEqualTo(1);
            assertThat(r.client.isOpen()).isFalse();
            assertThat(r.server.isOpen()).isFalse();
        }
    }

    @Test
    void theShorterSideDecides() {
        try (EmbeddedRelay r = new EmbeddedRelay("timeout client 30s\ntimeout server 400ms").connect()) {
            r.advanceMs(399);
            assertThat(r.timeouts.get()).isZero();
            r.advanceMs(1);
            assertThat(r.timeouts.get()).isEqualTo(1);
        }
    }

    @Test
    void clientFinBringsTheDeadlineForward() {
        try (EmbeddedRelay r = new EmbeddedRelay(
                "timeout client 30s\ntimeout server 30s\ntimeout client-fin 400ms").connect()) {
            r.advanceMs(1_000);
            r.client.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            r.advanceMs(0);
            assertThat(r.timeouts.get()).as("400 ms since the last activity have passed: at once").isEqualTo(1);
        }
    }

    @Test
    void serverFinBringsTheDeadlineForward() {
        try (EmbeddedRelay r = new EmbeddedRelay(
                "timeout client 30s\ntimeout server 30s\ntimeout server-fin 400ms").connect()) {
            r.server.writeInbound(Unpooled.wrappedBuffer(new byte[] {1}));
            ((io.netty.buffer.ByteBuf) r.client.readOutbound()).release();
            r.server.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            r.advanceMs(399);
            assertThat(r.timeouts.get()).isZero();
            r.advanceMs(1);
            assertThat(r.timeouts.get()).isEqualTo(1);
        }
    }

    @Test
    void noTimeoutsNoTimer() {
        try (EmbeddedRelay r = new EmbeddedRelay("timeout connect 1s").connect()) {
            assertThat(r.client.hasPendingTasks()).isFalse();
            r.advanceMs(3_600_000);
            assertThat(r.timeouts.get()).isZero();
        }
    }

    @Test
    void tunnelOutlastsClientAndServerTimeouts() {
        try (EmbeddedRelay r = new EmbeddedRelay(
                "timeout client 500ms\ntimeout server 500ms\ntimeout tunnel 1h").connect()) {
            r.advanceMs(30 * 60_000);
            assertThat(r.timeouts.get()).as("half an hour quiet: client and server no longer apply").isZero();
            r.client.writeInbound(Unpooled.wrappedBuffer(new byte[] {1}));
            ((io.netty.buffer.ByteBuf) r.server.readOutbound()).release();
            r.advanceMs(3_599_999);
            assertThat(r.timeouts.get()).isZero();
            r.advanceMs(1);
            assertThat(r.timeouts.get()).as("one hour after the last byte").isEqualTo(1);
            assertThat(r.client.isOpen()).isFalse();
        }
    }

    @Test
    void tunnelShorterThanClientAndServerDecides() {
        try (EmbeddedRelay r = new EmbeddedRelay(
                "timeout client 30s\ntimeout server 30s\ntimeout tunnel 400ms").connect()) {
            r.advanceMs(399);
            assertThat(r.timeouts.get()).isZero();
            r.advanceMs(1);
            assertThat(r.timeouts.get()).isEqualTo(1);
        }
    }

    @Test
    void clientFinStillCutsATunnelShort() {
        try (EmbeddedRelay r = new EmbeddedRelay(
                "timeout client 30s\ntimeout server 30s\ntimeout tunnel 1h\ntimeout client-fin 400ms").connect()) {
            r.advanceMs(1_000);
            r.client.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            r.advanceMs(0);
            assertThat(r.timeouts.get()).isEqualTo(1);
        }
    }
}
