package dev.planetary.bench.harness;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A syslog server that only counts ({@code --syslog-sink}): a UDP socket on 127.0.0.1 whose thread reads every
 * datagram and counts its lines (newlines; a datagram without one counts as a line), so that a proxy's connection log
 * goes to a reader, as it would to a syslog daemon, and its lines can be checked against the connections made.
 */
final class SyslogCounter implements AutoCloseable {

    /**
     * Receive buffer asked: 4 MiB absorbs a few hundred milliseconds of lines if the counting thread is descheduled.
     * The kernel caps it at {@code net.core.rmem_max} (212,992 on a stock kernel) without an error: the size granted
     * is read back and reported ({@link #bufferNote()}).
     */
    static final int RECEIVE_BUFFER = 4 << 20;

    private final DatagramChannel channel;
    /** SO_RCVBUF as read back after binding (Linux reports twice the size set, for its bookkeeping). */
    private final int receiveBuffer;
    private final AtomicLong lines = new AtomicLong();
    private final AtomicLong datagrams = new AtomicLong();
    private final Thread thread;

    private SyslogCounter(DatagramChannel channel, int receiveBuffer) {
        this.channel = channel;
        this.receiveBuffer = receiveBuffer;
        this.thread = new Thread(this::run, "syslog-counter");
        this.thread.setDaemon(true);
    }

    /** Binds 127.0.0.1:{@code port} (0: any free port) and starts counting. */
    static SyslogCounter start(int port) throws IOException {
        DatagramChannel ch = DatagramChannel.open();
        int granted;
        try {
            ch.setOption(StandardSocketOptions.SO_RCVBUF, RECEIVE_BUFFER);
            ch.bind(new InetSocketAddress("127.0.0.1", port));
            granted = ch.getOption(StandardSocketOptions.SO_RCVBUF);
        } catch (IOException e) {
            ch.close();
            throw new IOException("--syslog-sink: cannot bind UDP 127.0.0.1:" + port + ": " + e.getMessage(), e);
        }
        SyslogCounter c = new SyslogCounter(ch, granted);
        c.thread.start();
        return c;
    }

    int port() throws IOException {
        return ((InetSocketAddress) channel.getLocalAddress()).getPort();
    }

    /** The receive buffer the kernel granted, as SO_RCVBUF reads back. */
    int receiveBuffer() {
        return receiveBuffer;
    }

    /**
     * The setup line for the report when the buffer granted is below the one asked, else null: with less headroom a
     * descheduled counter drops lines, and the log-lines figure reads below 1 without the proxy having lost any.
     */
    String bufferNote() {
        if (receiveBuffer >= RECEIVE_BUFFER) {
            return null;
        }
        return "syslog sink: receive buffer " + receiveBuffer + " bytes, below the " + RECEIVE_BUFFER
            + " asked (capped by net.core.rmem_max): lines dropped by a descheduled counter lower the log-lines"
            + " figure; raise it with sysctl -w net.core.rmem_max=" + RECEIVE_BUFFER;
    }

    /** Lines received so far. */
    long lines() {
        return lines.get();
    }

    long datagrams() {
        return datagrams.get();
    }

    /** Lines in one datagram: its newlines, or 1 for a datagram that has none (a raw line cut by {@code len}). */
    static int linesIn(ByteBuffer datagram) {
        int n = 0;
        for (int i = datagram.position(); i < datagram.limit(); i++) {
            if (datagram.get(i) == '\n') {
                n++;
            }
        }
        return n == 0 && datagram.hasRemaining() ? 1 : n;
    }

    private void run() {
        ByteBuffer buf = ByteBuffer.allocateDirect(65_536);
        try {
            while (true) {
                buf.clear();
                channel.receive(buf);
                buf.flip();
                datagrams.incrementAndGet();
                lines.addAndGet(linesIn(buf));
            }
        } catch (ClosedChannelException e) {
            // closed at the end of the pass
        } catch (IOException e) {
            System.err.println("[bench] syslog counter stopped: " + e);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
