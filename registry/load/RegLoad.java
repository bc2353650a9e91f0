// Genesis load tool: constant-rate heartbeats, churn and watch subscribers over raw keep-alive HTTP/1.1 sockets, so
// that the client library is not what is measured. Run against a registry started on its own:
//   GENESIS_TOKEN=T java -jar registry/target/planetary-registry.jar --listen 127.0.0.1:9100 --data-dir D \
//       --drain-period 0s --grace 0s &
//   java registry/load/RegLoad.java PORT TOKEN VMS HEARTBEATS_PER_S SECONDS SUBSCRIBERS
// e.g. `java registry/load/RegLoad.java 9100 T 1900 2000 60 100`. Heartbeat latency is measured from each
// heartbeat's scheduled time (no coordinated omission); delivery latency from sending a registration to each
// subscriber reading its `added` event. Loopback only; every loop ends with the given duration.
import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

/** Constant-rate registry load over raw keep-alive HTTP/1.1 sockets (no client library overhead). */
public class RegLoad {
    static String host = "127.0.0.1"; static int port; static String token;

    static final class Conn implements Closeable {
        final Socket s; final OutputStream out; final BufferedInputStream in;
        Conn() throws IOException { s = new Socket(host, port); s.setTcpNoDelay(true); out = s.getOutputStream(); in = new BufferedInputStream(s.getInputStream(), 65536); }
        /** returns status; reads the whole body */
        int call(String method, String path, String body) throws IOException {
            byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            String req = method + " " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n";
            out.write(req.getBytes(StandardCharsets.US_ASCII)); out.write(b); out.flush();
            String status = line(); int code = Integer.parseInt(status.split(" ")[1]);
            int len = 0; String l;
            while (!(l = line()).isEmpty()) { if (l.toLowerCase().startsWith("content-length:")) len = Integer.parseInt(l.substring(15).trim()); }
            last = in.readNBytes(len);
            return code;
        }
        byte[] last;
        String line() throws IOException { StringBuilder sb = new StringBuilder(); int c; while ((c = in.read()) != '\n') { if (c < 0) throw new EOFException(); if (c != '\r') sb.append((char) c); } return sb.toString(); }
        public void close() throws IOException { s.close(); }
    }

    static String idOf(byte[] json) { String s = new String(json, StandardCharsets.UTF_8); int i = s.indexOf("\"id\":\""); return s.substring(i + 6, i + 15); }

    static long pct(long[] a, int n, double p) { long[] c = Arrays.copyOf(a, n); Arrays.sort(c); return c[Math.min(n - 1, (int) Math.ceil(p / 100.0 * n) - 1)]; }

    public static void main(String[] args) throws Exception {
        port = Integer.parseInt(args[0]); token = args[1];
        int vms = Integer.parseInt(args[2]); int rate = Integer.parseInt(args[3]); int seconds = Integer.parseInt(args[4]); int subs = Integer.parseInt(args[5]);
        List<String> ids = Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        ExecutorService regPool = Executors.newFixedThreadPool(8);
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < 8; t++) { int tt = t; fs.add(regPool.submit(() -> { try (Conn c = new Conn()) { for (int i = tt; i < vms; i += 8) { int code = c.call("POST", "/api/vms", "{\"cores\":4,\"storage_bytes\":1000000,\"instance\":\"load-" + i + "\"}"); if (code >= 300) throw new IllegalStateException("register " + code + " " + new String(c.last)); ids.add(idOf(c.last)); } } return null; })); }
        for (Future<?> f : fs) f.get();
        regPool.shutdown();
        System.out.printf("registered %d VMs in %.1f s%n", ids.size(), (System.nanoTime() - t0) / 1e9);

        // watch subscribers
        ConcurrentHashMap<String, Long> regSent = new ConcurrentHashMap<>();
        long[] deliv = new long[1_000_000]; AtomicInteger nd = new AtomicInteger();
        AtomicInteger[] got = new AtomicInteger[subs];
        List<Socket> subSockets = new ArrayList<>();
        CountDownLatch ready = new CountDownLatch(subs);
        for (int i = 0; i < subs; i++) {
            got[i] = new AtomicInteger(); AtomicInteger g = got[i];
            Socket s = new Socket(host, port); subSockets.add(s);
            s.getOutputStream().write(("GET /api/watch HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n").getBytes()); s.getOutputStream().flush();
            Thread th = new Thread(() -> { try { BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8), 1 << 16); String l; String ev = null; boolean counted = false;
                while ((l = r.readLine()) != null) { if (!counted && l.startsWith("event:")) { ready.countDown(); counted = true; }
                    if (l.startsWith("event:")) ev = l.substring(6).trim(); else if (l.startsWith("data:") && "added".equals(ev)) { int i2 = l.indexOf("\"instance\":\""); if (i2 >= 0) { String id = l.substring(i2 + 12, l.indexOf('"', i2 + 12)); Long sent = regSent.get(id); if (sent != null) { long d = System.nanoTime() - sent; int k = nd.getAndIncrement(); if (k < deliv.length) deliv[k] = d; g.incrementAndGet(); } } } }
            } catch (IOException e) { } }); th.setDaemon(true); th.start();
        }
        ready.await(30, TimeUnit.SECONDS);

        // heartbeats at constant rate: T threads each with its own connection, scheduled sends (latency from scheduled time: coordinated-omission safe)
        int threads = 20; long[] lat = new long[rate * seconds + 100000]; AtomicInteger nl = new AtomicInteger(); AtomicInteger errs = new AtomicInteger();
        long start = System.nanoTime() + 200_000_000L; long end = start + seconds * 1_000_000_000L;
        List<Thread> hbs = new ArrayList<>();
        for (int t = 0; t < threads; t++) { int tt = t; Thread th = new Thread(() -> { try (Conn c = new Conn()) { long interval = 1_000_000_000L * threads / rate; long next = start + tt * (interval / threads); int k = tt;
                while (next < end) { long now; while ((now = System.nanoTime()) < next) { java.util.concurrent.locks.LockSupport.parkNanos(next - now); }
                    String id = ids.get(k % ids.size()); k += threads;
                    int code = c.call("PUT", "/api/vms/" + id + "/heartbeat", "{\"load\":0.5}"); long d = System.nanoTime() - next; if (code != 200) errs.incrementAndGet(); int i = nl.getAndIncrement(); if (i < lat.length) lat[i] = d; next += interval; }
            } catch (Exception e) { e.printStackTrace(); } }); hbs.add(th); th.start(); }
        // churn: register + leave 10/s
        Thread churn = new Thread(() -> { try (Conn c = new Conn()) { int i = 0; while (System.nanoTime() < end) { Thread.sleep(100); String inst = "churn-" + (i++);
                    long s0 = System.nanoTime(); regSent.put(inst, s0);
                    int code = c.call("POST", "/api/vms", "{\"cores\":2,\"instance\":\"" + inst + "\"}"); if (code >= 300) { System.out.println("churn register " + code + " " + new String(c.last)); continue; }
                    String id = idOf(c.last);
                    c.call("DELETE", "/api/vms/" + id, null); } } catch (Exception e) { e.printStackTrace(); } });
        churn.start();
        for (Thread th : hbs) th.join(); churn.join();
        Thread.sleep(1000);
        int n = Math.min(nl.get(), lat.length);
        System.out.printf("heartbeats: %d in %d s (%.0f/s), errors %d; latency p50 %.2f ms p99 %.2f ms p99.9 %.2f ms max %.2f ms%n", n, seconds, n / (double) seconds, errs.get(), pct(lat, n, 50) / 1e6, pct(lat, n, 99) / 1e6, pct(lat, n, 99.9) / 1e6, pct(lat, n, 100) / 1e6);
        int m = Math.min(nd.get(), deliv.length);
        int minGot = Integer.MAX_VALUE, maxGot = 0; for (AtomicInteger g : got) { minGot = Math.min(minGot, g.get()); maxGot = Math.max(maxGot, g.get()); }
        System.out.printf("registration->added delivered: n=%d over %d subscribers (each got %d..%d added events); p50 %.2f ms p99 %.2f ms max %.2f ms%n", m, subs, minGot, maxGot, pct(deliv, m, 50) / 1e6, pct(deliv, m, 99) / 1e6, pct(deliv, m, 100) / 1e6);
        for (Socket s : subSockets) s.close();
    }
    static String pendingKey(String inst) { return "pending:" + inst; }
}
