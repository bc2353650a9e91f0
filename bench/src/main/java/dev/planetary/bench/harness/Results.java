package dev.planetary.bench.harness;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a run measured: per pass, per figure, per target column, the raw value of each repetition; and for the rate
 * figures the CPU each measured window cost (the proxy process's busy fraction of its nbthread cores, and each
 * CPU's busy fraction), to show which side bounded the figure.
 */
final class Results {

    /**
     * One window's CPU: the proxy's busy fraction of its threads' cores and its CPU microseconds per operation
     * (request or connection; NaN for direct and for bulk), and each CPU's busy fraction.
     */
    record Cpu(double proxyBusy, double proxyMicrosPerOp, double[] cpuBusy) {
    }

    final List<Pass> passes;
    private final Map<Pass, Map<Figure, Map<String, List<Double>>>> values = new LinkedHashMap<>();
    private final Map<Pass, Map<Figure, Map<String, List<Cpu>>>> cpu = new LinkedHashMap<>();

    Results(List<Pass> passes, List<TargetSpec> targets) {
        this.passes = List.copyOf(passes);
        for (Pass p : passes) {
            Map<Figure, Map<String, List<Double>>> byFigure = new EnumMap<>(Figure.class);
            Map<Figure, Map<String, List<Cpu>>> cpuByFigure = new EnumMap<>(Figure.class);
            for (Figure f : Figure.values()) {
                Map<String, List<Double>> m = new LinkedHashMap<>();
                Map<String, List<Cpu>> c = new LinkedHashMap<>();
                for (Target t : Target.values()) {
                    m.put(t.label(), new ArrayList<>());
                    c.put(t.label(), new ArrayList<>());
                }
                for (TargetSpec t : targets) {
                    m.put(t.label(), new ArrayList<>());
                    c.put(t.label(), new ArrayList<>());
                }
                byFigure.put(f, m);
                cpuByFigure.put(f, c);
            }
            values.put(p, byFigure);
            cpu.put(p, cpuByFigure);
        }
    }

    void add(Pass p, Figure f, String target, double raw) {
        values.get(p).get(f).get(target).add(raw);
    }

    void addCpu(Pass p, Figure f, String target, Cpu c) {
        cpu.get(p).get(f).get(target).add(c);
    }

    /** Target column label to the repetitions' values (every column present, empty when not measured). */
    Map<String, List<Double>> get(Pass p, Figure f) {
        return values.get(p).get(f);
    }

    Map<String, List<Cpu>> cpu(Pass p, Figure f) {
        return cpu.get(p).get(f);
    }
}
