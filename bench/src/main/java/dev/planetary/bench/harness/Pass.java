package dev.planetary.bench.harness;

import java.util.ArrayList;
import java.util.List;

/**
 * One layout of the machine the figures are taken in: both proxies at {@code nbthread}, and either pinned (the proxy
 * on its CPUs, the generator and backends on theirs: a figure per core) or unpinned (every process on every core:
 * what users get from the product's one event loop per core). A run measures every pass, in order; direct is
 * measured again in each, with the generator placed as in that pass, so that it is the ceiling of that pass's rows.
 *
 * @param proxyCpus the proxy's CPU list for taskset, or null when unpinned
 * @param generatorCpus the generator's and backends' CPU list (every CPU when unpinned)
 */
public record Pass(int nbthread, String proxyCpus, String generatorCpus) {

    boolean pinned() {
        return proxyCpus != null;
    }

    /** Threads for the load tools and backends: one per generator CPU. */
    int generatorThreads() {
        return cpuCount(generatorCpus);
    }

    /** The table's "threads" cell. */
    String label() {
        return nbthread + (pinned() ? ", pinned" : ", unpinned");
    }

    String describe() {
        return "nbthread " + nbthread + (pinned()
                ? ", pinned: proxy on CPU " + proxyCpus + ", generator and backends on CPU " + generatorCpus
                : ", unpinned: every process on CPUs " + generatorCpus);
    }

    /**
     * The passes of a run: one per nbthread. A pass is pinned when {@code --pin} is given and its nbthread fits the
     * proxy CPUs (nbthread 2 on a 2-core machine needs both cores, so it runs unpinned).
     */
    static List<Pass> of(Options o) {
        List<Pass> out = new ArrayList<>();
        String all = o.allCpus;
        for (int n : o.nbthreads) {
            boolean pin = o.pin && n <= cpuCount(o.proxyCpus);
            out.add(pin ? new Pass(n, o.proxyCpus, o.generatorCpus) : new Pass(n, null, all));
        }
        return out;
    }

    /** The number of CPUs in a taskset list such as {@code 0}, {@code 1-3} or {@code 0,2-3}. */
    static int cpuCount(String list) {
        return Math.max(1, cpuNumbers(list).size());
    }

    /** The CPU numbers of a taskset list such as {@code 0}, {@code 1-3} or {@code 0,2-3}. */
    static List<Integer> cpuNumbers(String list) {
        List<Integer> out = new ArrayList<>();
        for (String part : list.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int dash = p.indexOf('-');
            int lo = Integer.parseInt(dash < 0 ? p : p.substring(0, dash));
            int hi = dash < 0 ? lo : Integer.parseInt(p.substring(dash + 1));
            for (int c = lo; c <= hi; c++) {
                out.add(c);
            }
        }
        return out;
    }
}
