package dev.planetary.swarm;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;

/**
 * The {@code ws} service after the handshake: first one text frame {@code {"vm":"vm_ID","instance":..,"address":..}}
 * saying which VM holds the socket, then every text, binary and continuation frame echoed unchanged. Ping, pong and
 * close are answered by Netty's protocol handler in front.
 */
final class WsEchoHandler extends SimpleChannelInboundHandler<WebSocketFrame> {

    private final VmIdentity vm;
    private final Traffic traffic;

    WsEchoHandler(VmIdentity vm, Traffic traffic) {
        this.vm = vm;
        this.traffic = traffic;
    }

    static String hello(VmIdentity vm) {
        return "{\"vm\":\"" + vm.id() + "\",\"instance\":\"" + vm.instance() + "\",\"address\":\"" + vm.address()
            + "\"}";
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete) {
            ctx.writeAndFlush(new TextWebSocketFrame(hello(vm)));
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
        if (frame instanceof TextWebSocketFrame || frame instanceof BinaryWebSocketFrame
            || frame instanceof ContinuationWebSocketFrame) {
            int n = frame.content().readableBytes();
            traffic.bytesIn.add(n);
            traffic.bytesOut.add(n);
            ctx.writeAndFlush(frame.retain()); // the echo: the same frame, its buffer kept past auto-release
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
