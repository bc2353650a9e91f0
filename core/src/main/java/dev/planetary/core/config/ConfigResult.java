package dev.planetary.core.config;

import java.util.List;

/**
 * What {@link ConfigParser} found: a config when there were no errors, and every error and warning in the order
 * they were found. Each message starts with {@code parsing [FILE:LINE] : }, as HAProxy's do.
 *
 * @param config   the validated config, or null when {@code errors} is not empty
 * @param errors   every error in every file (parsing does not stop at the first)
 * @param warnings things HAProxy would also warn about; they do not prevent a config
 */
public record ConfigResult(ProxyConfig config, List<String> errors, List<String> warnings) {

    public ConfigResult {
        errors = List.copyOf(errors);
        warnings = List.copyOf(warnings);
        if (errors.isEmpty() != (config != null)) {
            throw new IllegalArgumentException("a config must be given exactly when there are no errors");
        }
    }

    /** True when there were no errors, so {@link #config()} is not null. */
    public boolean ok() {
        return errors.isEmpty();
    }
}
