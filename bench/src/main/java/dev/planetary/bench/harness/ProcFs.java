package dev.planetary.bench.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A process's resident memory and CPU time, and each CPU's busy time, from /proc (Linux). */
public final class ProcFs {

    /** USER_HZ: the unit of utime/stime in /proc/PID/stat; 100 on every Linux this runs on (getconf CLK_TCK). */
    static final double TICKS_PER_SECOND = 100.0;

    private ProcFs() {
    }

    /** VmRSS in bytes, or -1. */
    public static long rssBytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("VmRSS:")) {
                    String[] f = line.trim().split("\\s+");
                    return Long.parseLong(f[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** utime + stime of every thread of the process, in seconds, or -1. */
    public static double cpuSeconds(long pid) {
        try {
            String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // the command name (field 2) may hold spaces: fields are counted after its closing parenthesis
            String[] f = s.substring(s.lastIndexOf(')') + 2).trim().split("\\s+");
            // after ')' field index 0 is field 3 (state); utime is field 14, stime field 15
            long utime = Long.parseLong(f[14 - 3]);
            long stime = Long.parseLong(f[15 - 3]);
            return (utime + stime) / TICKS_PER_SECOND;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Each CPU's {busy, total} ticks since boot from /proc/stat (busy = everything but idle and iowait), indexed by
     * CPU number (an offline CPU reads {0, 0}); empty if unreadable. Two samples give each CPU's busy fraction in
     * between: whether the generator's CPU or the proxy's was the saturated one.
     */
    public static List<long[]> cpuTicks() {
        List<long[]> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
                if (!line.startsWith("cpu") || line.startsWith("cpu ")) {
                    continue;
                }
                String[] f = line.trim().split("\\s+");
                int cpu = Integer.parseInt(f[0].substring(3));
                while (out.size() < cpu) {
                    out.add(new long[]{0, 0}); // an offline CPU: no line, never busy
                }
                long total = 0;
                // user nice system idle iowait irq softirq steal (guest time is already inside user)
                for (int i = 1; i <= 8 && i < f.length; i++) {
                    total += Long.parseLong(f[i]);
                }
                long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
                out.add(new long[]{total - idle, total});
            }
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
        return out;
    }
}
