package dev.planetary.registry.http;

import io.netty.handler.codec.http.HttpResponseStatus;

/** A request that gets an error answer: the status and a message for the client (never a stack trace). */
public final class ApiException extends Exception {
    private final HttpResponseStatus status;
    private final String allow;

    public ApiException(HttpResponseStatus status, String message) {
        this(status, message, null);
    }

    ApiException(HttpResponseStatus status, String message, String allow) {
        super(message, null, false, false);
        this.status = status;
        this.allow = allow;
    }

    /** For 405: the Allow header. */
    String allow() {
        return allow;
    }

    public HttpResponseStatus status() {
        return status;
    }

    static ApiException badRequest(String message) {
        return new ApiException(HttpResponseStatus.BAD_REQUEST, message);
    }
}
