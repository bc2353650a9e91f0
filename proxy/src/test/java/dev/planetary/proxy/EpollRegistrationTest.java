package dev.planetary.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.UnixChannel;
import io.netty.channel.socket.SocketChannel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.lang.reflect.Method;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The system calls the proxy saves on each connection's server side (issue 15), checked through what the kernel
 * holds rather than by timing: the socket's address family (an IPv4 target gets an IPv4 socket, so no
 * {@code IPV6_V6ONLY} setsockopt) and the interest set Netty registers a channel with ({@code EPOLLERR} and
 * {@code EPOLLIN} are in the {@code EPOLL_CTL_ADD} when {@link RelayChannel#keepReading} ran before registering, so
 * no {@code EPOLL_CTL_MOD} is needed for either).
 */
class EpollRegistrationTest {

    private static final int EPOLLIN = 0x1;
    private static final int EPOLLERR = 0x8;
    private static final Pattern TFD = Pattern.compile("tfd:\\s+(\\d+)\\s+events:\\s+([0-9a-f]+)");

    private static EventLoopGroup group;

    @BeforeAll
    static void start() {
        Assumptions.assumeTrue(Epoll.isAvailable(), "native epoll is not available here");
        group = Transport.EPOLL.newGroup(1, "epoll-registration-test");
    }

    @AfterAll
    static void stop() {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void anIpv4TargetGetsAnIpv4Socket() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 4, InetAddress.getByName("127.0.0.1"))) {
            InetSocketAddress target = new InetSocketAddress("127.0.0.1", server.getLocalPort());
            SocketChannel ch = Transport.EPOLL.newChannel(target);
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter());
            group.register(ch).sync();
            try {
                ch.connect(target).sync();
                assertThat(ch.localAddress().getAddress()).isInstanceOf(Inet4Address.class);
            } finally {
                ch.close().sync();
            }
        }
    }

    @Test
    void keptBeforeRegisteringTheFlagIsInTheInterestSetNettyAddsWith() throws Exception {
        // The kernel reports EPOLLERR in every registration's fdinfo, so the saved EPOLL_CTL_MOD is counted with
        // strace (README, "Performance: system calls per connection"); here: Netty's interest set holds the flag
        // from before registering, i.e. the set its EPOLL_CTL_ADD sends, and stays so once connected.
        try (ServerSocket server = new ServerSocket(0, 4, InetAddress.getByName("127.0.0.1"))) {
            InetSocketAddress target = new InetSocketAddress("127.0.0.1", server.getLocalPort());
            SocketChannel kept = Transport.EPOLL.newChannel(target);
            SocketChannel plain = Transport.EPOLL.newChannel(target);
            for (SocketChannel ch : java.util.List.of(kept, plain)) {
                ch.config().setAutoRead(false); // as the proxy's channels: nothing else asks for EPOLLIN
                ch.pipeline().addLast(new ChannelInboundHandlerAdapter());
            }
            RelayChannel.keepReading(kept);
            try {
                assertThat(flagSet(kept, EPOLLERR)).as("before registering").isTrue();
                assertThat(flagSet(kept, EPOLLIN)).as("before registering").isTrue();
                group.register(kept).sync();
                group.register(plain).sync();
                kept.connect(target).sync();
                plain.connect(target).sync();
                assertThat(group.submit(() -> flagSet(kept, EPOLLERR)).get()).as("kept, connected").isTrue();
                assertThat(group.submit(() -> flagSet(kept, EPOLLIN)).get()).as("kept, connected").isTrue();
                assertThat(group.submit(() -> flagSet(plain, EPOLLERR)).get()).as("the control").isFalse();
                assertThat(group.submit(() -> flagSet(plain, EPOLLIN)).get()).as("the control").isFalse();
                OptionalInt keptEvents = interest(kept);
                OptionalInt plainEvents = interest(plain);
                assertThat(keptEvents).as("the socket is in epoll").isPresent();
                assertThat(plainEvents).as("the control is in epoll").isPresent();
                assertThat(keptEvents.getAsInt() & EPOLLIN).as("kept: the kernel was asked for input").isEqualTo(EPOLLIN);
                assertThat(plainEvents.getAsInt() & EPOLLIN).as("the control was not").isZero();
            } finally {
                kept.close().sync();
                plain.close().sync();
            }
        }
    }

    /**
     * Through a running proxy, on each path a connection takes (a plain bind; an accept-proxy bind with a send-proxy
     * server): the accepted client channel and the connected server channel both hold EPOLLERR. The relay does not
     * set it again (issue 15: that was a reflective call per side and connection), so the listener and the connector
     * must have set it before registering; this fails if either stops doing so.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "accept-proxy {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void bothSidesOfAProxiedConnectionHoldTheFlag(boolean acceptProxy) throws Exception {
        try (dev.planetary.proxy.testing.Backends backends = new dev.planetary.proxy.testing.Backends()) {
            int echo = backends.echo("echo").port();
            int port = dev.planetary.proxy.testing.Ports.pcpu();
            Proxy proxy = startOneLoop("""
                listen sc
                    bind 127.0.0.1:%d%s
                    server echo 127.0.0.1:%d%s
                """.formatted(port, acceptProxy ? " accept-proxy" : "", echo, acceptProxy ? " send-proxy" : ""));
            try (java.net.Socket client = dev.planetary.proxy.testing.Harness.connect(port)) {
                if (acceptProxy) {
                    dev.planetary.proxy.testing.Harness.write(client, "PROXY TCP4 10.1.2.3 127.0.0.1 4242 " + port
                        + "\r\n");
                }
                dev.planetary.proxy.testing.Harness.write(client, "ping\n");
                if (acceptProxy) {
                    assertThat(dev.planetary.proxy.testing.Harness.readLine(client)).as("the server's PROXY header")
                        .startsWith("PROXY TCP4 10.1.2.3 ");
                }
                assertThat(dev.planetary.proxy.testing.Harness.readLine(client)).as("echoed through the proxy")
                    .isEqualTo("ping");
                java.util.List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
                SessionList.visitAll(session -> {
                    if (session.proxy() != proxy) {
                        return;
                    }
                    try {
                        seen.add("client " + flagSet(session.client(), EPOLLERR) + ", server "
                            + (session.serverChannel() != null && flagSet(session.serverChannel(), EPOLLERR)));
                    } catch (ReflectiveOperationException e) {
                        seen.add(e.toString());
                    }
                });
                assertThat(seen).containsExactly("client true, server true");
            } finally {
                proxy.close();
            }
        }
    }

    /**
     * A connection waiting for a server (queued behind {@code maxconn 1}) is read meanwhile, as HAProxy reads a request
     * while it connects: its client channel asks epoll for input from the start (EPOLLIN came with its EPOLL_CTL_ADD,
     * no MOD once a server is found), and what it sent is delivered first once the server is free. Fails if the
     * listener stops putting EPOLLIN in before registration (the acceptor's auto-read option takes it out).
     */
    @Test
    void aQueuedClientIsReadWhileItWaitsAndItsBytesGoFirst() throws Exception {
        try (dev.planetary.proxy.testing.Backends backends = new dev.planetary.proxy.testing.Backends()) {
            int echo = backends.echo("echo").port();
            int port = dev.planetary.proxy.testing.Ports.pcpu();
            Proxy proxy = startOneLoop("""
                listen q
                    bind 127.0.0.1:%d
                    server echo 127.0.0.1:%d maxconn 1
                    timeout queue 20s
                """.formatted(port, echo));
            try (java.net.Socket first = dev.planetary.proxy.testing.Harness.connect(port)) {
                dev.planetary.proxy.testing.Harness.write(first, "one\n");
                assertThat(dev.planetary.proxy.testing.Harness.readLine(first)).isEqualTo("one");
                try (java.net.Socket second = dev.planetary.proxy.testing.Harness.connect(port)) {
                    dev.planetary.proxy.testing.Harness.write(second, "two\n");
                    java.util.List<String> waiting = new java.util.concurrent.CopyOnWriteArrayList<>();
                    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() -> {
                        waiting.clear();
                        SessionList.visitAll(session -> {
                            if (session.proxy() == proxy && session.serverChannel() == null) {
                                try {
                                    waiting.add("reading " + flagSet(session.client(), EPOLLIN));
                                } catch (ReflectiveOperationException e) {
                                    waiting.add(e.toString());
                                }
                            }
                        });
                        assertThat(waiting).as("the queued connection").containsExactly("reading true");
                    });
                    first.close();
                    assertThat(dev.planetary.proxy.testing.Harness.readLine(second)).as("its early bytes, delivered")
                        .isEqualTo("two");
                }
            } finally {
                proxy.close();
            }
        }
    }

    /** A proxy on epoll with one event loop (every connection on it), running {@code listen}. */
    private static Proxy startOneLoop(String listen) throws Exception {
        return dev.planetary.proxy.testing.Harness.start("""
            global
                nbthread 1
            defaults
                mode tcp
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            """ + listen, Transport.EPOLL);
    }

    private static boolean flagSet(Channel ch, int flag) throws ReflectiveOperationException {
        Method m = Class.forName("io.netty.channel.epoll.AbstractEpollChannel").getDeclaredMethod("isFlagSet", int.class);
        m.setAccessible(true);
        return (Boolean) m.invoke(ch, flag);
    }

    /** The epoll events registered for the channel's socket, from the fdinfo of this process's epoll descriptors. */
    private static OptionalInt interest(Channel ch) throws IOException {
        int fd = ((UnixChannel) ch).fd().intValue();
        try (Stream<Path> infos = Files.list(Path.of("/proc/self/fdinfo"))) {
            for (Path info : (Iterable<Path>) infos::iterator) {
                String text;
                try {
                    text = Files.readString(info);
                } catch (IOException e) {
                    continue; // closed meanwhile
                }
                Matcher m = TFD.matcher(text);
                while (m.find()) {
                    if (Integer.parseInt(m.group(1)) == fd) {
                        return OptionalInt.of(Integer.parseInt(m.group(2), 16));
                    }
                }
            }
        }
        return OptionalInt.empty();
    }
}
