package dev.planetary.swarm;

import dev.planetary.registry.client.Agent;
import dev.planetary.registry.client.AgentOptions;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * One local VM: its own loopback address 127.0.x.y, its services bound there ({@code pcpu}, {@code transfer},
 * {@code ws}, and {@code ssh} when an sshd runs for it) and registry-client's {@link Agent}, which registers it with
 * Genesis from that address. Many of them share one JVM and one event loop group (see {@link SwarmHost} for why).
 */
final class LocalVm implements VmIdentity {

    /** The services' ports on the VM's own address (the same on every VM, as on real VMs). */
    static final int PCPU_PORT = 7000;
    static final int TRANSFER_PORT = 7100;
    static final int WS_PORT = 8080;
    static final int SSH_PORT = 2222;
    /** Longest line the pcpu service takes: it answers lines typed or piped by hand. */
    static final int MAX_LINE = 64 * 1024;
    /** Largest WebSocket frame and HTTP request the ws service takes: a test page, not a file store. */
    static final int MAX_WS_BYTES = 1024 * 1024;
    /** Addresses per third octet: 127.0.x.1 .. 127.0.x.250. */
    private static final int PER_OCTET = 250;

    private final int index;
    private final String instance;
    private final InetAddress address;
    private final List<Channel> listeners = new ArrayList<>();
    private volatile Agent agent;
    private volatile Process sshd;

    LocalVm(int index) {
        if (index < 0 || index >= 250 * PER_OCTET) {
            throw new IllegalArgumentException("VM index " + index + " out of 0.." + (250 * PER_OCTET - 1));
        }
        this.index = index;
        this.instance = instanceName(index);
        this.address = addressOf(index);
    }

    /** {@code vm-0001}: the instance key, kept across runs so Genesis gives the VM its id and ports back. */
    static String instanceName(int index) {
        return String.format("vm-%04d", index + 1);
    }

    /** 127.0.(1 + index / 250).(1 + index % 250): never 127.0.0.x, where Genesis and the proxy listen. */
    static InetAddress addressOf(int index) {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, (byte) (1 + index / PER_OCTET),
                (byte) (1 + index % PER_OCTET)});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The index in {@code vm-0001}, or -1 when the name is not one of ours. */
    static int indexOf(String instance) {
        if (!instance.matches("vm-\\d{4,6}")) {
            return -1;
        }
        return Integer.parseInt(instance.substring(3)) - 1;
    }

    int index() {
        return index;
    }

    @Override
    public String id() {
        Agent a = agent;
        String id = a == null ? null : a.vmId();
        return id == null ? instance : id;
    }

    @Override
    public String instance() {
        return instance;
    }

    @Override
    public String address() {
        return address.getHostAddress();
    }

    Agent agent() {
        return agent;
    }

    boolean registered() {
        Agent a = agent;
        return a != null && a.registered();
    }

    /** Binds the services on the VM's address, then starts the agent (so it never announces a port not yet open). */
    void start(EventLoopGroup group, Class<? extends ServerChannel> channel, Traffic traffic,
               AgentOptions.Builder agentOptions, Process sshdProcess) throws InterruptedException {
        ConnectionCounter counter = new ConnectionCounter(traffic);
        bind(group, channel, PCPU_PORT, counter, ch -> new ChannelHandler[] {
            new LineBasedFrameDecoder(MAX_LINE), new PcpuHandler(this, traffic)});
        bind(group, channel, TRANSFER_PORT, counter, ch -> new ChannelHandler[] {new TransferHandler(this, traffic)});
        bind(group, channel, WS_PORT, counter, ch -> new ChannelHandler[] {
            CloseOnInputShutdown.INSTANCE, new HttpServerCodec(), new HttpObjectAggregator(MAX_WS_BYTES), new WsPageHandler(this, traffic),
            new WebSocketServerProtocolHandler(WebSocketServerProtocolConfig.newBuilder().websocketPath("/")
                .checkStartsWith(true).maxFramePayloadLength(MAX_WS_BYTES).build()),
            new WsEchoHandler(this, traffic)});
        agentOptions.instance(instance).address(address).service("pcpu", PCPU_PORT)
            .service("transfer", TRANSFER_PORT).service("ws", WS_PORT);
        if (sshdProcess != null) {
            this.sshd = sshdProcess;
            agentOptions.service("ssh", SSH_PORT);
        }
        agent = Agent.start(agentOptions.build());
    }

    private void bind(EventLoopGroup group, Class<? extends ServerChannel> channel, int port, ConnectionCounter counter,
                      Function<SocketChannel, ChannelHandler[]> handlers) throws InterruptedException {
        Channel ch = new ServerBootstrap().group(group).channel(channel)
            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childHandler(new ChannelInitializer<SocketChannel>() {
                @Override
                protected void initChannel(SocketChannel c) {
                    c.pipeline().addLast(counter).addLast(handlers.apply(c));
                }
            })
            .bind(new InetSocketAddress(address, port)).sync().channel();
        synchronized (listeners) {
            listeners.add(ch);
        }
    }

    /** Graceful: the agent leaves (Genesis drains the VM), then the services close. */
    void leave() {
        Agent a = agent;
        if (a != null) {
            a.close();
        }
        closeServices(false);
    }

    /**
     * As a VM that dies: the agent stops without leaving (Genesis expires the VM after its TTL), the listeners close
     * and its sshd gets SIGKILL.
     */
    void kill() {
        Agent a = agent;
        if (a != null) {
            a.halt();
        }
        closeServices(true);
    }

    private void closeServices(boolean hard) {
        List<Channel> chs;
        synchronized (listeners) {
            chs = List.copyOf(listeners);
            listeners.clear();
        }
        chs.forEach(c -> c.close().awaitUninterruptibly(5_000));
        Process p = sshd;
        if (p != null) {
            if (hard) {
                p.destroyForcibly();
            } else {
                p.destroy();
            }
            try {
                p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return id() + " " + instance + " " + address();
    }
}
