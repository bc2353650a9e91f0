package dev.planetary.swarm;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The {@code pcpu} service: each line (after a {@code LineBasedFrameDecoder}) is answered with the VM's id, instance
 * and address and the SHA-256 of the line (the "real piece of work"), so {@code nc} shows which VM answered. When the
 * client half-closes, the answers are flushed and the connection closed: {@code printf 'x\n' | nc -N HOST PORT}
 * prints its answer and returns.
 */
final class PcpuHandler extends SimpleChannelInboundHandler<ByteBuf> {

    private final VmIdentity vm;
    private final Traffic traffic;
    private final MessageDigest sha256;

    PcpuHandler(VmIdentity vm, Traffic traffic) {
        this.vm = vm;
        this.traffic = traffic;
        try {
            this.sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** The answer to one line: {@code vm_3fa2c1 vm-0003 127.0.1.4 sha256=<first 16 hex digits>}. */
    static String answer(VmIdentity vm, byte[] line, MessageDigest sha256) {
        byte[] h = sha256.digest(line);
        return vm.id() + " " + vm.instance() + " " + vm.address() + " sha256="
            + HexFormat.of().formatHex(h, 0, 8) + "\n";
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf line) {
        traffic.bytesIn.add(line.readableBytes() + 1L);
        byte[] answer = answer(vm, ByteBufUtil.getBytes(line), sha256).getBytes(StandardCharsets.US_ASCII);
        traffic.bytesOut.add(answer.length);
        ctx.writeAndFlush(Unpooled.wrappedBuffer(answer));
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close(); // a reset or an over-long line: nothing to tell a client that is gone or misbehaving
    }
}
