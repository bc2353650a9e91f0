package dev.planetary.proxy;

import sun.misc.Signal;

/**
 * SIGTERM and SIGINT request a graceful stop (run once, on a thread of their own); the process then exits 0 as
 * HAProxy does (a JVM shutdown hook would exit 143). sun.misc.Signal is in jdk.unsupported, which stays exported.
 */
final class Signals {

    private Signals() {
    }

    static void onStop(Runnable stop) {
        boolean[] once = {false};
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), sig -> {
                synchronized (once) {
                    if (once[0]) {
                        return;
                    }
                    once[0] = true;
                }
                Thread t = new Thread(stop, "planetary-stop");
                t.start();
            });
        }
    }
}
