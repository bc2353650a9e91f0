package dev.planetary.registry.store;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Ids of a registry's history, sent as {@code Genesis-History} on the watch stream: every instance of one store
 * answers the same id, an independent Genesis another, so that a client failing over resumes by version only where
 * the versions mean the same thing. 128 random bits: two histories never draw the same id.
 */
public final class HistoryIds {

    /** What an id looks like (what the client accepts is wider: any printable token of at most 64 characters). */
    static final String SHAPE = "32 lowercase hex digits";
    private static final Pattern VALID = Pattern.compile("[0-9a-f]{32}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private HistoryIds() {
    }

    /** A new id. */
    public static String random() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** True when {@code id} is one this class makes. */
    public static boolean valid(String id) {
        return id != null && VALID.matcher(id).matches();
    }
}
