package dev.planetary.swarm;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/** First in every service's pipeline: counts the connections open on the local VMs (up's status line). */
@ChannelHandler.Sharable
final class ConnectionCounter extends ChannelInboundHandlerAdapter {

    private final Traffic traffic;

    ConnectionCounter(Traffic traffic) {
        this.traffic = traffic;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        traffic.connections.increment();
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        traffic.connections.decrement();
        ctx.fireChannelInactive();
    }
}
