package dev.planetary.proxy;

/** The proxy cannot start; the message is for the user as it stands (no stack trace needed). */
public final class StartException extends Exception {
    public StartException(String message) {
        super(message);
    }
}
