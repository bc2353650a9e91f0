package dev.planetary.core.config;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Pattern;

/**
 * Address syntax of {@code bind} and {@code server} lines, split as HAProxy's {@code str2sa_range()} does: an
 * IPv6 address may be written in brackets ({@code [::1]:80}) or bare, in which case the last colon separates
 * the port ({@code ::1:80}, {@code :::80}); an empty host or {@code *} means every address.
 *
 * <p>Never resolves names: literals are checked here character by character before {@link InetAddress} sees
 * them, so {@link InetAddress#getByName} only ever converts a literal.
 */
public final class Addresses {

    /** One DNS label: letters, digits, '-' and '_' (seen in service names), not starting or ending with '-'. */
    private static final Pattern HOSTNAME = Pattern.compile(
            "(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
                    + "(?:\\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\\.?");
    private static final Pattern IPV6_CHARS = Pattern.compile("[0-9A-Fa-f:.]+");
    private static final Pattern DIGITS_AND_DOTS = Pattern.compile("[0-9.]+");

    /** A host and port of a server line. */
    record HostPort(String host, int port) {
    }

    private Addresses() {
    }

    /**
     * Parses one element of a bind line's comma-separated list.
     *
     * @param section the section keyword, for "HAProxy feature" messages
     */
    static Bind parseBind(String text, String section, Origin origin) {
        rejectNonTcp(text, "bind", section);
        String[] hp = splitHostPort(text, "'bind'");
        String host = hp[0];
        String ports = hp[1];
        String literal;
        if (host.isEmpty() || host.equals("*")) {
            literal = null;
        } else {
            literal = literalIp(host);
            if (literal == null) {
                throw new LineError("'bind' : '" + host + "' is not a literal IP address"
                        + " (Planetary binds literal addresses only)");
            }
        }
        int dash = ports.indexOf('-');
        int low = parsePort(dash < 0 ? ports : ports.substring(0, dash), ports, "'bind'");
        int high = dash < 0 ? low : parsePort(ports.substring(dash + 1), ports, "'bind'");
        if (low > high) {
            throw new LineError("'bind' : invalid port range '" + ports + "' (first port above last port)");
        }
        return new Bind(literal, low, high, origin);
    }

    /**
     * Parses a server's {@code ADDRESS:PORT}; the address may be a literal IP or a host name, kept as written
     * (IPv6 literals in canonical form).
     *
     * @param subject {@code 'server be/name'}, the start of every message
     */
    static HostPort parseServer(String text, String subject, String section) {
        rejectNonTcp(text, "server", section);
        String[] hp = splitHostPort(text, subject);
        String host = hp[0];
        if (host.isEmpty() || host.equals("*")) {
            throw new LineError(subject + " : missing address in '" + text + "'");
        }
        String literal = literalIp(host);
        if (literal == null) {
            boolean looksNumeric = DIGITS_AND_DOTS.matcher(host).matches();
            if (looksNumeric || host.indexOf(':') >= 0 || !HOSTNAME.matcher(host).matches()) {
                throw new LineError(subject + " : invalid address '" + host + "'");
            }
            literal = host;
        }
        if (hp[1].indexOf('-') >= 0) {
            throw new LineError(subject + " : invalid port '" + hp[1] + "' (a server has one port, not a range)");
        }
        return new HostPort(literal, parsePort(hp[1], hp[1], subject));
    }

    /**
     * True for a bare IPv4 or IPv6 literal ({@code 10.1.2.3}, {@code fd00::1}; no brackets, no scope): text the JDK
     * turns into an address without any name service, on whatever thread (an event loop) first asks.
     */
    public static boolean isIpLiteral(String host) {
        return host != null && !host.startsWith("[") && literalIp(host) != null;
    }

    /** The canonical text of an IPv4 or IPv6 literal, or null when {@code host} is not one. */
    static String literalIp(String host) {
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
            if (host.indexOf(':') < 0) {
                return null;
            }
        }
        if (host.indexOf(':') < 0) {
            return isIpv4(host) ? host : null;
        }
        if (!IPV6_CHARS.matcher(host).matches()) {
            return null;
        }
        try {
            // Only hex digits, ':' and '.' here, so this parses the literal and never looks a name up.
            InetAddress address = InetAddress.getByName(host);
            return address instanceof Inet4Address ? address.getHostAddress() : ipv6Text(address.getAddress());
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** Dotted quad, each part 0..255 written without leading zeros, as inet_pton(AF_INET) accepts. */
    static boolean isIpv4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
                return false;
            }
            for (int i = 0; i < p.length(); i++) {
                if (p.charAt(i) < '0' || p.charAt(i) > '9') {
                    return false;
                }
            }
            if (Integer.parseInt(p) > 255) {
                return false;
            }
        }
        return true;
    }

    /** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as "::". */
    static String ipv6Text(byte[] a) {
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = ((a[2 * i] & 0xff) << 8) | (a[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLen = 0;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen && j - i >= 2) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }

    private static void rejectNonTcp(String text, String keyword, String section) {
        int at = text.indexOf('@');
        if (at >= 0) {
            throw new LineError("'" + text.substring(0, at + 1) + "' is a HAProxy address prefix that Planetary"
                    + " does not support (in '" + section + "' section); '" + keyword
                    + "' takes a plain address:port");
        }
        if (text.startsWith("/")) {
            throw new LineError("'" + keyword + "' : '" + text + "' is a UNIX socket path; Planetary uses TCP"
                    + " addresses only");
        }
    }

    /** Splits at the closing bracket of "[v6]:port", else at the last colon. */
    private static String[] splitHostPort(String text, String subject) {
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0) {
                throw new LineError(subject + " : missing ']' in '" + text + "'");
            }
            if (close + 1 >= text.length() || text.charAt(close + 1) != ':') {
                throw new LineError(subject + " : missing port specification in '" + text + "'");
            }
            return new String[] {text.substring(0, close + 1), text.substring(close + 2)};
        }
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            throw new LineError(subject + " : missing port specification in '" + text + "'");
        }
        return new String[] {text.substring(0, colon), text.substring(colon + 1)};
    }

    private static int parsePort(String s, String whole, String subject) {
        if (s.isEmpty()) {
            throw new LineError(subject + " : missing port specification in '" + whole + "'");
        }
        int port = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9' || i >= 6) {
                throw new LineError(subject + " : invalid port '" + s + "' (ports are 1 to 65535)");
            }
            port = port * 10 + (c - '0');
        }
        if (port < 1 || port > 65535) {
            throw new LineError(subject + " : invalid port '" + s + "' (ports are 1 to 65535)");
        }
        return port;
    }
}
