package dev.planetary.proxy.log;

/**
 * HAProxy's two-character session state at disconnection ({@code %ts}), the TCP-mode subset: the first character
 * says what ended the connection, the second in which phase (configuration manual 8.5).
 */
public final class TerminationState {

    private TerminationState() {
    }

    /** Nothing abnormal: one side closed after the exchange. */
    public static final char NORMAL = '-';
    /** The client aborted (reset, or closed before the server connection was made). */
    public static final char CLIENT_ABORT = 'C';
    /** The server aborted or refused the connection. */
    public static final char SERVER_ABORT = 'S';
    /** The proxy ended it (maxconn waiting line full, no server usable). */
    public static final char PROXY = 'P';
    /** {@code timeout client} (or client-fin) expired. */
    public static final char CLIENT_TIMEOUT = 'c';
    /** {@code timeout server}, {@code timeout connect} or {@code timeout queue} expired. */
    public static final char SERVER_TIMEOUT = 's';
    /** Killed: the proxy stopped ({@code hard-stop-after}). */
    public static final char KILLED = 'K';

    /** Phase: waiting in a queue (maxconn or backend). */
    public static final char QUEUE = 'Q';
    /** Phase: connecting to the server. */
    public static final char CONNECT = 'C';
    /** Phase: relaying data. */
    public static final char DATA = 'D';
}
