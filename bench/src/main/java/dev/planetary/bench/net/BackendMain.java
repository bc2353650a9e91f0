package dev.planetary.bench.net;

import java.net.InetSocketAddress;
import java.util.stream.Collectors;

/**
 * The harness's backend process: {@code backend [--threads N]} opens two sink and two echo servers on ephemeral
 * loopback ports, prints one line {@code READY sink=P,P echo=P,P} and serves until killed. A process of its own so
 * that 10,000 idle connections cost it 10,000 descriptors and the generator 10,000 (the limit is 20,000 each).
 */
public final class BackendMain {

    private BackendMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        int threads = 1;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--threads")) {
                threads = Integer.parseInt(args[++i]);
            }
        }
        Backends b = new Backends(threads, 2, 2);
        System.out.println("READY sink=" + ports(b.sinks()) + " echo=" + ports(b.echos()));
        System.out.flush();
        Thread.currentThread().join(); // until the harness kills the process
    }

    private static String ports(java.util.List<InetSocketAddress> a) {
        return a.stream().map(x -> Integer.toString(x.getPort())).collect(Collectors.joining(","));
    }
}
