package dev.planetary.proxy.reload;

import dev.planetary.core.config.ConfigParser;
import dev.planetary.core.config.ConfigResult;
import dev.planetary.proxy.InPlaceReload;
import dev.planetary.proxy.Proxy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reload in place: reads the same configuration files again, validates them, and has the running proxy apply the
 * difference ({@link Proxy#reload}). An invalid configuration changes nothing: its errors are logged in HAProxy's
 * {@code [ALERT] config : parsing [FILE:LINE] : ...} form and the running one stays.
 *
 * <p>This is the one entry point for every way a reload is asked for: SIGHUP and SIGUSR2 ({@link ReloadTrigger}),
 * {@code bin/planetary reload}, and the runtime API's {@code reload} command, which calls {@link #reload()} and
 * prints {@link Result#lines()} to its client.
 */
public final class Reloader {

    private static final Logger LOG = LoggerFactory.getLogger(Reloader.class);

    /**
     * What a reload did.
     *
     * @param applied true when the new configuration runs now (perhaps with nothing to change)
     * @param lines   what an operator reads: the errors and warnings in HAProxy's form, then the outcome
     */
    public record Result(boolean applied, List<String> lines) {
        public Result {
            lines = List.copyOf(lines);
        }
    }

    private final List<Path> files;
    private final Proxy proxy;

    public Reloader(List<Path> files, Proxy proxy) {
        this.files = List.copyOf(files);
        this.proxy = proxy;
    }

    /** Reads, validates and applies the configuration files; one reload at a time. Never throws for bad input. */
    public synchronized Result reload() {
        List<String> lines = new ArrayList<>();
        ConfigResult r = ConfigParser.parse(files);
        for (String w : r.warnings()) {
            lines.add("[WARNING] config : " + w);
            LOG.warn("config : {}", w);
        }
        if (!r.ok()) {
            for (String e : r.errors()) {
                lines.add("[ALERT] config : " + e);
                LOG.error("[ALERT] config : {}", e);
            }
            String refused = "reload refused: fatal errors in the configuration; the running configuration is unchanged";
            lines.add("[ALERT] " + refused);
            LOG.error("[ALERT] {}", refused);
            return new Result(false, lines);
        }
        try {
            String summary = proxy.reload(r.config());
            lines.add("reload applied: " + summary);
            LOG.info("reload applied: {}", summary);
            return new Result(true, lines);
        } catch (InPlaceReload.Refused e) {
            String refused = "reload refused, the running configuration is unchanged: " + e.getMessage();
            lines.add("[ALERT] " + refused);
            LOG.error("[ALERT] {}", refused);
            return new Result(false, lines);
        } catch (RuntimeException e) {
            // a bug, not bad input: logged with its trace for a report; the proxy keeps running
            lines.add("[ALERT] reload failed: " + e);
            LOG.error("reload failed", e);
            return new Result(false, lines);
        }
    }
}
