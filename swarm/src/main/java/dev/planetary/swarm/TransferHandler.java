package dev.planetary.swarm;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.nio.charset.StandardCharsets;

/**
 * The {@code transfer} service: a sink that counts what it receives; when the client half-closes it answers
 * {@code vm_ID received N bytes} and closes, so {@code head -c 10M /dev/zero | nc -N HOST 30000} shows the VM and
 * that every byte arrived.
 */
final class TransferHandler extends ChannelInboundHandlerAdapter {

    private final VmIdentity vm;
    private final Traffic traffic;
    private long received;

    TransferHandler(VmIdentity vm, Traffic traffic) {
        this.vm = vm;
        this.traffic = traffic;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf b = (ByteBuf) msg;
        try {
            received += b.readableBytes();
            traffic.bytesIn.add(b.readableBytes());
        } finally {
            b.release();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            byte[] answer = (vm.id() + " received " + received + " bytes\n").getBytes(StandardCharsets.US_ASCII);
            traffic.bytesOut.add(answer.length);
            ctx.writeAndFlush(Unpooled.wrappedBuffer(answer)).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
