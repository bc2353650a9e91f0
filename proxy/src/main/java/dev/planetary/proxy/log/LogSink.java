package dev.planetary.proxy.log;

import dev.planetary.core.config.LogTarget;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;

/**
 * Where the log thread writes lines: standard output or error (lines batched, written when the queue runs dry), or a
 * UDP syslog server (one datagram per line, as HAProxy sends). Used by the log thread only.
 */
abstract class LogSink implements AutoCloseable {

    final LogTarget target;

    LogSink(LogTarget target) {
        this.target = target;
    }

    /** One line, without its newline; {@code len} bytes of {@code line}. */
    abstract void write(byte[] line, int len) throws IOException;

    /** The queue is empty for now: write out what is batched. */
    void flush() throws IOException {
    }

    @Override
    public void close() throws IOException {
    }

    static LogSink open(LogTarget target) throws IOException {
        return switch (target.kind()) {
            case STDOUT -> new Stream(target, new FileOutputStream(FileDescriptor.out));
            case STDERR -> new Stream(target, new FileOutputStream(FileDescriptor.err));
            case UDP -> new Udp(target);
        };
    }

    /** A file descriptor of the process, written in batches of lines. */
    static final class Stream extends LogSink {
        /** Batch size: 64 KiB is one write() for a burst of about 600 lines. */
        private static final int BATCH = 64 * 1024;
        private final OutputStream out;
        private final byte[] batch = new byte[BATCH];
        private int used;

        Stream(LogTarget target, OutputStream out) {
            super(target);
            this.out = out;
        }

        @Override
        void write(byte[] line, int len) throws IOException {
            if (used + len + 1 > batch.length) {
                flush();
            }
            if (len + 1 > batch.length) {
                out.write(line, 0, len);
                out.write('\n');
                return;
            }
            System.arraycopy(line, 0, batch, used, len);
            used += len;
            batch[used++] = '\n';
        }

        @Override
        void flush() throws IOException {
            if (used > 0) {
                int n = used;
                used = 0;
                out.write(batch, 0, n);
            }
        }
    }

    /**
     * A syslog server over UDP: one datagram per line, with its newline as HAProxy sends it. The datagram is built in a
     * direct buffer (a heap one would be copied into a temporary direct buffer by every send); the channel stays
     * unconnected, as HAProxy's socket, so a syslog server that is down costs no exception per line.
     */
    static final class Udp extends LogSink {
        private final DatagramChannel channel;
        private final InetSocketAddress to;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(LogTarget.MAX_LENGTH + 1);

        Udp(LogTarget target) throws IOException {
            super(target);
            this.to = new InetSocketAddress(target.host(), target.port());
            this.channel = DatagramChannel.open();
        }

        @Override
        void write(byte[] line, int len) throws IOException {
            buf.clear();
            buf.put(line, 0, len).put((byte) '\n').flip();
            channel.send(buf, to); // a full socket buffer drops the datagram, as syslog over UDP does
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
