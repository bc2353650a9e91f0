package dev.planetary.proxy.reload;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * HAProxy's {@code -sf PID...}: once the new process listens, each old one is told to stop softly (SIGUSR1: stop
 * accepting, let live connections finish), as HAProxy does. Java cannot send a signal to another process, so
 * {@code kill(1)} sends it.
 */
public final class SoftStop {

    private static final Logger LOG = LoggerFactory.getLogger(SoftStop.class);

    /** Longest wait for {@code kill} to run. */
    private static final long KILL_WAIT_MS = 5_000;

    private SoftStop() {
    }

    /** Sends SIGUSR1 to each process; a process already gone is logged and skipped. */
    public static void tell(List<Long> pids) {
        for (long pid : pids) {
            if (pid == ProcessHandle.current().pid()) {
                continue;
            }
            try {
                Process p = new ProcessBuilder("kill", "-USR1", Long.toString(pid)).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (!p.waitFor(KILL_WAIT_MS, TimeUnit.MILLISECONDS) || p.exitValue() != 0) {
                    LOG.warn("-sf: could not signal process {} (gone already?)", pid);
                } else {
                    LOG.info("-sf: process {} told to stop accepting and finish its connections", pid);
                }
            } catch (IOException e) {
                LOG.warn("-sf: cannot run kill for process {}: {}", pid, e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
