package dev.planetary.registry.client.haproxy;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * One connection to HAProxy's runtime API (the {@code stats socket}) in interactive ("prompt") mode: each command's
 * answer ends with the prompt {@code "\n> "}, so one connection carries many commands and its closing tells that
 * HAProxy went away (restart, reload, or the CLI's idle timeout). Every wait is bounded by {@code timeout}.
 * Not thread-safe: it belongs to the sync's single thread.
 */
final class RuntimeApi implements AutoCloseable {

    /** Pause before writing again into a full socket buffer. */
    private static final long WRITE_RETRY_NANOS = 1_000_000;
    /** Longest answer accepted; {@code show map} of 2,000 pins or {@code show servers state} is far below it. */
    private static final int MAX_ANSWER = 16 << 20;

    private final SocketChannel channel;
    private final Selector selector;
    private final Duration timeout;
    private final ByteBuffer in = ByteBuffer.allocate(64 << 10);

    private RuntimeApi(SocketChannel channel, Selector selector, Duration timeout) {
        this.channel = channel;
        this.selector = selector;
        this.timeout = timeout;
    }

    static RuntimeApi connect(Path socket, Duration timeout) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        Selector sel = null;
        try {
            ch.connect(UnixDomainSocketAddress.of(socket)); // a unix connect does not block on a live listener
            ch.configureBlocking(false);
            sel = Selector.open();
            ch.register(sel, SelectionKey.OP_READ);
            RuntimeApi api = new RuntimeApi(ch, sel, timeout);
            api.write("prompt\n");
            api.readAnswer(); // the first prompt
            return api;
        } catch (IOException | RuntimeException e) {
            ch.close();
            if (sel != null) {
                sel.close();
            }
            throw e;
        }
    }

    /** Sends one command (no newline in it) and returns HAProxy's answer without the prompt, trimmed. */
    String command(String cmd) throws IOException {
        if (cmd.indexOf('\n') >= 0 || cmd.indexOf(';') >= 0) {
            throw new IllegalArgumentException("runtime command must be one command on one line: " + cmd);
        }
        write(cmd + "\n");
        return readAnswer().strip();
    }

    private void write(String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + timeout.toNanos();
        while (b.hasRemaining()) {
            if (channel.write(b) == 0) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("HAProxy's socket took no command for " + timeout.toMillis() + " ms");
                }
                // a full socket buffer (HAProxy not reading): wait a little rather than spin; commands are short, so
                // this is never the common path
                LockSupport.parkNanos(WRITE_RETRY_NANOS);
            }
        }
    }

    private String readAnswer() throws IOException {
        StringBuilder sb = new StringBuilder();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new IOException("HAProxy did not answer within " + timeout.toMillis() + " ms");
            }
            selector.select(left);
            selector.selectedKeys().clear();
            in.clear();
            int n = channel.read(in);
            if (n < 0) {
                throw new IOException("HAProxy closed its socket");
            }
            sb.append(StandardCharsets.UTF_8.decode(in.flip()));
            if (sb.length() > MAX_ANSWER) {
                throw new IOException("HAProxy's answer is longer than " + MAX_ANSWER + " bytes");
            }
            int len = sb.length();
            if (len >= 2 && sb.charAt(len - 2) == '>' && sb.charAt(len - 1) == ' '
                && (len == 2 || sb.charAt(len - 3) == '\n')) {
                sb.setLength(len - 2);
                return sb.toString();
            }
        }
    }

    @Override
    public void close() {
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
