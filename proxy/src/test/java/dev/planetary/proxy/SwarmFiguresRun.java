package dev.planetary.proxy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.util.concurrent.TimeUnit;

/** Runs {@link SwarmFigures} from Maven when asked ({@code -Dswarm.figures=true}); never part of a normal build. */
@EnabledIfSystemProperty(named = "swarm.figures", matches = "true")
class SwarmFiguresRun {

    @Test
    @Timeout(value = 30, unit = TimeUnit.MINUTES)
    void measure() throws Exception {
        SwarmFigures.run(Integer.getInteger("swarm.figures.registrations", 100));
    }
}
