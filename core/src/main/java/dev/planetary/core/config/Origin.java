package dev.planetary.core.config;

/** A file and line in a configuration file, formatted as HAProxy does: {@code [FILE:LINE]}. */
public record Origin(String file, int line) {

    @Override
    public String toString() {
        return "[" + file + ":" + line + "]";
    }
}
