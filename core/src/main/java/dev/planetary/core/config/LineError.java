package dev.planetary.core.config;

/**
 * An error in one configuration line, thrown inside the parser and turned into a {@code parsing [FILE:LINE] : }
 * message by it; never escapes {@link ConfigParser}. No stack trace: it is a message, not a bug.
 */
final class LineError extends RuntimeException {

    LineError(String message) {
        super(message, null, false, false);
    }
}
