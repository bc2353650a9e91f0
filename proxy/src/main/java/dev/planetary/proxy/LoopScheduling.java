package dev.planetary.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code loop-priority realtime [PRIO]}: each event loop thread puts itself at real-time priority as it starts, before
 * it serves anything. Why: on a box with few cores a woken loop otherwise waits for the time-sharing scheduler to give
 * it a CPU while the JIT's compiler threads, a relist of the swarm or Genesis run, up to several milliseconds
 * (measured: 2-5 of 22 relists of 1,999 VMs stalled a loop over 5 ms at normal priority, none at real time with
 * generational ZGC; registry/RESULTS.md).
 *
 * <p>The policy is {@code SCHED_RR}: a real-time thread preempts every time-shared one at once, and loops at the same
 * priority still take turns (100-ms quanta) when there are more of them than CPUs, where {@code SCHED_FIFO} would let
 * one busy loop keep its CPU. Reset-on-fork, so that a thread or process a loop starts is not real time too. The
 * kernel keeps 5% of each second for time-shared threads by default ({@code sched_rt_runtime_us}): saturated loops
 * slow everything else, the proxy's own collector and JIT included, but cannot lock the machine up.
 *
 * <p>Java has no call for a thread's scheduling policy, so the thread runs util-linux's {@code chrt} on its own
 * thread id (from {@code /proc/thread-self}), once per loop at start. Refused (no {@code CAP_SYS_NICE} and an
 * {@code RLIMIT_RTPRIO} below PRIO, a cgroup without real-time time) or impossible, the loops stay at the normal
 * priority and one warning says why and how to allow it.
 */
final class LoopScheduling {

    private static final Logger LOG = LoggerFactory.getLogger(LoopScheduling.class);
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    private static final long CHRT_TIMEOUT_SECONDS = 10;

    private LoopScheduling() {
    }

    /** {@code base}, or (priority 1-99) a factory whose threads ask for real time at that priority first. */
    static ThreadFactory threads(ThreadFactory base, int priority) {
        if (priority <= 0) {
            return base;
        }
        return r -> base.newThread(() -> {
            realTime(priority); // never throws: a refusal leaves the loop at the normal priority
            r.run();
        });
    }

    /** Puts the calling thread at {@code SCHED_RR} {@code priority}; false (warned once) if that was not possible. */
    static boolean realTime(int priority) {
        try {
            // "PID/task/TID": this thread's id as the kernel (and chrt) know it
            String tid = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
            Process p = new ProcessBuilder("chrt", "--rr", "--reset-on-fork", "-p", Integer.toString(priority), tid)
                .redirectErrorStream(true).start();
            if (!p.waitFor(CHRT_TIMEOUT_SECONDS, TimeUnit.SECONDS)) { // its few bytes of output fit the pipe
                p.destroyForcibly();
                return refused(priority, "chrt did not finish in " + CHRT_TIMEOUT_SECONDS + " s");
            }
            String out;
            try (InputStream in = p.getInputStream()) {
                out = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
            }
            if (p.exitValue() != 0) {
                return refused(priority, out.isEmpty() ? "chrt exited with " + p.exitValue() : out);
            }
            return true;
        } catch (IOException | RuntimeException e) {
            return refused(priority, "cannot run chrt (util-linux) on /proc/thread-self: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return refused(priority, "interrupted");
        }
    }

    private static boolean refused(int priority, String why) {
        if (WARNED.compareAndSet(false, true)) {
            LOG.warn("'loop-priority realtime {}': the event loops stay at the normal priority: {}. Real time needs"
                + " the CAP_SYS_NICE capability (root has it, unless a container dropped it) or an RLIMIT_RTPRIO of at"
                + " least {} (a shell: ulimit -r {}; systemd: RestrictRealtime=no and LimitRTPRIO={}), and a cgroup"
                + " with real-time time if the kernel has CONFIG_RT_GROUP_SCHED", priority, why, priority, priority,
                priority);
        }
        return false;
    }
}
