package dev.planetary.swarm;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;

/**
 * For a service whose channels allow half-closure but that has nothing to say after the client's FIN (the ws
 * service): flush what is pending and close. Without it the proxy's health checks, which connect and close, left one
 * CLOSE-WAIT socket per check on every VM.
 */
@ChannelHandler.Sharable
final class CloseOnInputShutdown extends ChannelInboundHandlerAdapter {

    static final CloseOnInputShutdown INSTANCE = new CloseOnInputShutdown();

    private CloseOnInputShutdown() {
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
        ctx.fireUserEventTriggered(evt);
    }
}
