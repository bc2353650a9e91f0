// Where the event loop's bytes per proxied connection go (issue 15), from a JFR file written by
// AllocationPerConnectionRun (-Dalloc.jfr=FILE). Run the measurement with -XX:-UseTLAB so that every allocation is
// an ObjectAllocationOutsideTLAB event (exact counts, not samples; a few thousand connections are enough):
//
//   unshare -n bash -c 'ip link set lo up && mvn -B -o -q -pl proxy -am test -Dtest=AllocationPerConnectionRun \
//       -Dsurefire.failIfNoSpecifiedTests=false -Dalloc.figures=true -Dalloc.warmup=true -Dalloc.warm=3000 \
//       -Dalloc.jfr=/tmp/alloc.jfr "-Dtest.argLine=-Xss512k -XX:-UseTLAB"'
//   java bench/alloc-sites.java /tmp/alloc.jfr 3000
//
// Prints bytes and objects per connection of the proxy's event loops (threads planetary-io-*): by class, by
// allocating site (the first frame outside the JDK) and by cause (the rules below, matched on the top frames).
// With TLABs on, the events are one per TLAB refill, charged to whichever object caused it: fine for a profile,
// not for a table (the per-class counts came out 2-4x off here).
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

final class AllocSites {

    /** Top frames matched against the cause rules. */
    private static final int DEPTH = 12;

    /** Cause, then substrings of the top frames (a|b: both); the first rule that matches wins. */
    private static final String[][] CAUSES = {
        {"epoll ready events outside EpollIoOps' cache", "EpollIoOps.eventOf"},
        {"close: a StacklessClosedChannelException (+ its stack element) per close", "StacklessClosedChannelException"},
        {"close: deregister task", "AbstractUnsafe.deregister"},
        {"Netty's connect timeout (ScheduledFutureTask + task)", "AbstractEpollUnsafe.connect:66"},
        {"idle timer (ScheduledFutureTask)", "IdleTimer.schedule"},
        {"receive buffer allocator: per-channel allocator, validation handle, handle", "RecvByteBufAllocator",
            "RecvByteAllocator", "MaxMessageHandle", "DefaultChannelConfig.<init>:75", "newEpollHandle"},
        {"addresses, accepted side (peer from accept, local from getsockname)", "newChildChannel:107|NativeInetAddress",
            "newChildChannel:107|Socket.localAddress", "newChildChannel:107|Socket.remoteAddress"},
        {"addresses, server side (sockaddr for connect, local after it, getpeername + computeRemoteAddr)",
            "doConnect", "doFinishConnect"},
        {"pipeline contexts, pending-handler tasks", "newContext", "callHandlerCallbackLater", "ChannelInitializer"},
        {"registration (promises, IoRegistration, listener lambdas)", "SingleThreadEventLoop.register", "register0",
            "registerForIo0", "EpollIoHandler.register", "doRegister", "ServerBootstrapAcceptor.channelRead"},
        {"connect promise and listeners", "Channel.connect", "Connector.registered"},
        {"channel objects (channel, config, unsafe, pipeline, head/tail, close future, void promise, id, outbound "
            + "buffer, socket)", "newChildChannel", "Transport.newChannel", "LinuxSocket.newSocketStream",
            "EpollStreamUnsafe.<init>"},
    };
    private static final String OURS = "ours (dev.planetary objects)";

    public static void main(String[] args) throws Exception {
        double n = Double.parseDouble(args[1]);
        Map<String, long[]> byClass = new HashMap<>();
        Map<String, long[]> bySite = new HashMap<>();
        Map<String, long[]> byCause = new LinkedHashMap<>();
        long total = 0;
        long events = 0;
        try (RecordingFile rf = new RecordingFile(Path.of(args[0]))) {
            while (rf.hasMoreEvents()) {
                RecordedEvent e = rf.readEvent();
                String type = e.getEventType().getName();
                if (!type.startsWith("jdk.ObjectAllocation") || !type.endsWith("TLAB")) {
                    continue;
                }
                if (e.getThread() == null || e.getThread().getJavaName() == null
                    || !e.getThread().getJavaName().startsWith("planetary-io")) {
                    continue;
                }
                long bytes = type.endsWith("InNewTLAB") ? e.getLong("tlabSize") : e.getLong("allocationSize");
                String cls = e.getClass("objectClass").getName();
                List<RecordedFrame> frames = e.getStackTrace() == null ? List.of() : e.getStackTrace().getFrames();
                total += bytes;
                events++;
                add(byClass, cls, bytes);
                String site = "?";
                StringBuilder top = new StringBuilder();
                for (int i = 0; i < frames.size(); i++) {
                    String f = frame(frames.get(i));
                    if (site.equals("?") && !f.startsWith("java.") && !f.startsWith("jdk.") && !f.startsWith("sun.")) {
                        site = f;
                    }
                    if (i < DEPTH) {
                        top.append(f).append('\n');
                    }
                }
                add(bySite, simpleName(site), bytes);
                add(byCause, cause(cls, top.toString()), bytes);
            }
        }
        System.out.printf("%d events, %.0f bytes per connection%n", events, total / n);
        print("by cause", byCause, n, 30);
        print("by allocating site (first frame outside the JDK)", bySite, n, 40);
        print("by class", byClass, n, 40);
    }

    private static String cause(String cls, String top) {
        if (cls.startsWith("dev.planetary.")) {
            return OURS;
        }
        String t = top.replace("io.netty.channel.epoll.AbstractEpollChannel$AbstractEpollUnsafe", "AbstractEpollUnsafe")
            .replace("io.netty.channel.AbstractChannel$AbstractUnsafe", "AbstractUnsafe");
        for (String[] rule : CAUSES) {
            for (int i = 1; i < rule.length; i++) {
                boolean all = true;
                for (String part : rule[i].split("\\|")) {
                    all &= t.contains(part);
                }
                if (all) {
                    return rule[0];
                }
            }
        }
        return "other";
    }

    private static String frame(RecordedFrame f) {
        return f.getMethod().getType().getName() + "." + f.getMethod().getName() + ":" + f.getLineNumber();
    }

    private static String simpleName(String frame) {
        return frame.replaceAll("^([a-z0-9_]+\\.)+", "");
    }

    private static void add(Map<String, long[]> m, String key, long bytes) {
        long[] v = m.computeIfAbsent(key, k -> new long[2]);
        v[0] += bytes;
        v[1]++;
    }

    private static void print(String title, Map<String, long[]> m, double n, int limit) {
        System.out.printf("%n| %s | bytes/conn | objects/conn |%n|---|---:|---:|%n", title);
        m.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0])).limit(limit)
            .forEach(e -> System.out.printf("| %s | %.0f | %.1f |%n", e.getKey(), e.getValue()[0] / n,
                e.getValue()[1] / n));
    }
}
