package dev.planetary.proxy.stats.http;

import dev.planetary.core.config.StatsPageConfig;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * HTTP basic authentication against the {@code stats auth} users, as HAProxy's stats page asks for it. Passwords are
 * kept only as SHA-256 digests and compared in constant time ({@link MessageDigest#isEqual}) against the digest of
 * what the client sent; every user is compared, so the time does not tell which user exists.
 */
final class BasicAuth {

    /** Longest Authorization header looked at: a user and password far longer than anyone types. */
    static final int MAX_HEADER = 1024;

    private final List<byte[]> credentials = new ArrayList<>();

    BasicAuth(List<StatsPageConfig.StatsUser> users) {
        for (StatsPageConfig.StatsUser u : users) {
            credentials.add(sha256(u.user() + ":" + u.password()));
        }
    }

    /** True when the page needs no authentication (a loopback page without {@code stats auth}). */
    boolean open() {
        return credentials.isEmpty();
    }

    /** True when the {@code Authorization} header (or null) names a configured user with its password. */
    boolean accepts(String header) {
        if (open()) {
            return true;
        }
        if (header == null || header.length() > MAX_HEADER || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
            return false;
        }
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(header.substring(6).trim());
        } catch (IllegalArgumentException e) {
            return false;
        }
        byte[] given = sha256(new String(decoded, StandardCharsets.UTF_8));
        boolean ok = false;
        for (byte[] c : credentials) {
            ok |= MessageDigest.isEqual(c, given);
        }
        return ok;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
