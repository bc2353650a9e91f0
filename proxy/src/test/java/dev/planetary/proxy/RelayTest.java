package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** The relay's rules, channel by channel, without sockets: backpressure, half-close, resets, releases. */
class RelayTest {

    private final EmbeddedRelay r = new EmbeddedRelay("timeout client 30s\ntimeout server 30s");

    @AfterEach
    void tearDown() {
        r.close();
    }

    private static ByteBuf ascii(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    private static String readAscii(EmbeddedRelay.DuplexEmbeddedChannel ch) {
        ByteBuf b = ch.readOutbound();
        if (b == null) {
            return null;
        }
        try {
            return b.toString(StandardCharsets.US_ASCII);
        } finally {
            b.release();
        }
    }

    @Test
    void bytesGoBothWaysAndAreCounted() {
        r.connect();
        assertThat(r.client.config().isAutoRead()).as("client read once the server is up").isTrue();
        assertThat(r.server.config().isAutoRead()).isTrue();
        r.client.writeInbound(ascii("hello"));
        assertThat(readAscii(r.server)).isEqualTo("hello");
        r.server.writeInbound(ascii("world!"));
        assertThat(readAscii(r.client)).isEqualTo("world!");
        assertThat(r.frontend.backend().bytesToServers()).isEqualTo(5);
        assertThat(r.frontend.backend().bytesToClients()).isEqualTo(6);
    }

    @Test
    void clientBytesSentBeforeTheServerIsUpGoFirst() {
        r.client.writeInbound(ascii("early "));
        assertThat(r.server.outboundMessages()).isEmpty();
        r.connect();
        r.client.writeInbound(ascii("late"));
        StringBuilder got = new StringBuilder();
        for (String s; (s = readAscii(r.server)) != null; ) {
            got.append(s);
        }
        assertThat(got).hasToString("early late");
    }

    /** Counts the read() calls that pass the client pipeline's head end, i.e. reads the relay asks for. */
    private java.util.concurrent.atomic.AtomicInteger countClientReads() {
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        r.client.pipeline().addFirst(new io.netty.channel.ChannelOutboundHandlerAdapter() {
            @Override
            public void read(io.netty.channel.ChannelHandlerContext ctx) {
                reads.incrementAndGet();
                ctx.read();
            }
        });
        return reads;
    }

    @Test
    void earlyBytesAreCountedAndTheClientIsReadOnOnlyUpToTheLimit() {
        java.util.concurrent.atomic.AtomicInteger reads = countClientReads();
        int chunk = Relay.EARLY_LIMIT / 2 - 1;
        r.client.writeInbound(Unpooled.buffer(chunk).writeZero(chunk));
        assertThat(reads.get()).as("under the limit: read on").isEqualTo(1);
        assertThat(r.frontend.backend().bytesToServers()).as("counted as bytes in on arrival").isEqualTo(chunk);
        r.client.writeInbound(Unpooled.buffer(chunk).writeZero(chunk));
        assertThat(reads.get()).as("still under it").isEqualTo(2);
        r.client.writeInbound(Unpooled.buffer(chunk).writeZero(chunk));
        assertThat(reads.get()).as("past the limit: no more reads asked for").isEqualTo(2);
        assertThat(r.server.outboundMessages()).isEmpty();
        r.connect();
        assertThat(r.server.outboundMessages()).as("the held bytes go in one write").hasSize(1);
        long sent = 0;
        for (ByteBuf b; (b = r.server.readOutbound()) != null; ) {
            sent += b.readableBytes();
            b.release();
        }
        assertThat(sent).as("every early byte").isEqualTo(3L * chunk);
        assertThat(r.frontend.backend().bytesToServers()).as("each counted once").isEqualTo(3L * chunk);
        assertThat(r.client.config().isAutoRead()).as("read on once the server is up").isTrue();
    }

    @Test
    void aConnectionWaitingBeyondMaxconnIsReadNoFurther() {
        r.holdsSlots = false; // parked for a global or frontend maxconn slot
        java.util.concurrent.atomic.AtomicInteger reads = countClientReads();
        r.client.writeInbound(ascii("the one read that found it"));
        assertThat(reads.get()).as("no further read while it waits beyond the limit").isZero();
        r.holdsSlots = true;
        r.connect();
        assertThat(readAscii(r.server)).isEqualTo("the one read that found it");
    }

    @Test
    void severalEarlyReadsAreReleasedWhenTheConnectionEndsBeforeTheServerIsUp() {
        ByteBuf first = ascii("never ");
        ByteBuf second = ascii("sent");
        r.client.writeInbound(first);
        r.client.writeInbound(second); // now held in a composite with the first
        r.client.close();
        assertThat(r.clientClosed.get()).isEqualTo(1);
        assertThat(first.refCnt()).isZero();
        assertThat(second.refCnt()).isZero();
    }

    @Test
    void earlyBytesAreReleasedWhenTheConnectionEndsBeforeTheServerIsUp() {
        ByteBuf early = ascii("never sent");
        r.client.writeInbound(early);
        r.client.close();
        assertThat(r.clientClosed.get()).isEqualTo(1);
        assertThat(early.refCnt()).isZero();
    }

    @Test
    void aFullServerSideStopsReadingTheClientUntilItDrains() {
        r.connect();
        ByteBuf big = Unpooled.buffer(300 * 1024).writeZero(300 * 1024); // past the 256 KiB high watermark
        r.client.pipeline().fireChannelRead(big); // written, not yet flushed
        assertThat(r.server.isWritable()).isFalse();
        assertThat(r.client.config().isAutoRead()).as("client reading paused").isFalse();
        r.client.pipeline().fireChannelReadComplete(); // end of the read batch: flush
        r.server.runPendingTasks();
        assertThat(r.server.isWritable()).isTrue();
        assertThat(r.client.config().isAutoRead()).as("client reading resumed").isTrue();
    }

    @Test
    void aFullClientSideStopsReadingTheServerUntilItDrains() {
        r.connect();
        r.server.pipeline().fireChannelRead(Unpooled.buffer(300 * 1024).writeZero(300 * 1024));
        assertThat(r.server.config().isAutoRead()).isFalse();
        r.server.pipeline().fireChannelReadComplete();
        r.client.runPendingTasks();
        assertThat(r.server.config().isAutoRead()).isTrue();
    }

    @Test
    void clientFinIsForwardedAfterThePendingBytesThenBothCloseAtTheServerFin() {
        r.connect();
        r.client.pipeline().fireChannelRead(ascii("last words")); // not flushed yet
        r.client.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        r.client.runPendingTasks();
        r.server.runPendingTasks();
        assertThat(r.server.outputShut).as("FIN forwarded to the server").isTrue();
        assertThat(r.server.outboundAtShutdown).as("after the bytes before it (and the empty flush)").isEqualTo(2);
        assertThat(readAscii(r.server)).isEqualTo("last words");
        assertThat(r.halfClosed.get()).isEqualTo(1);
        assertThat(r.client.isOpen()).as("the server may still answer").isTrue();

        r.server.writeInbound(ascii("reply"));
        assertThat(readAscii(r.client)).isEqualTo("reply");
        r.server.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        r.client.runPendingTasks();
        r.server.runPendingTasks();
        assertThat(r.client.isOpen()).isFalse();
        assertThat(r.server.isOpen()).isFalse();
        assertThat(r.clientClosed.get()).isEqualTo(1);
    }

    @Test
    void serverFinIsForwardedToTheClientWhichMayGoOnSending() {
        r.connect();
        r.server.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertThat(r.client.outputShut).isTrue();
        r.client.writeInbound(ascii("still talking"));
        assertThat(readAscii(r.server)).isEqualTo("still talking");
        assertThat(r.server.isOpen()).isTrue();
    }

    @Test
    void serverCloseFlushesWhatItSentThenClosesTheClient() {
        r.connect();
        r.server.pipeline().fireChannelRead(ascii("goodbye")); // written to the client, not flushed
        r.server.close();
        r.client.runPendingTasks();
        assertThat(readAscii(r.client)).isEqualTo("goodbye");
        assertThat(r.client.isOpen()).isFalse();
        assertThat(r.frontend.serverResetCount()).isZero();
    }

    @Test
    void serverResetIsPropagatedAsAReset() {
        r.connect();
        r.server.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));
        r.server.runPendingTasks();
        r.client.runPendingTasks();
        assertThat(r.server.isOpen()).isFalse();
        assertThat(r.client.isOpen()).isFalse();
        assertThat(r.frontend.serverResetCount()).isEqualTo(1);
    }

    @Test
    void clientResetIsPropagatedAsAReset() {
        r.connect();
        r.client.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));
        r.client.runPendingTasks();
        r.server.runPendingTasks();
        assertThat(r.client.isOpen()).isFalse();
        assertThat(r.server.isOpen()).isFalse();
        assertThat(r.frontend.clientResetCount()).isEqualTo(1);
        assertThat(r.clientClosed.get()).isEqualTo(1);
    }

    @Test
    void bytesFromAFailedAttemptAreReleased() {
        r.connect();
        EmbeddedRelay.DuplexEmbeddedChannel stale = new EmbeddedRelay.DuplexEmbeddedChannel();
        stale.pipeline().addLast(r.relay.serverHandler());
        ByteBuf fromStale = ascii("stale");
        stale.writeInbound(fromStale);
        assertThat(fromStale.refCnt()).isZero();
        assertThat(r.client.outboundMessages()).isEmpty();
        stale.finishAndReleaseAll();
    }

    @Test
    void clientCloseClosesTheServerSideAndEndsTheConnection() {
        r.connect();
        r.client.close();
        r.server.runPendingTasks();
        assertThat(r.server.isOpen()).isFalse();
        assertThat(r.clientClosed.get()).isEqualTo(1);
        assertThat(r.frontend.clientResetCount()).isZero();
    }
}
