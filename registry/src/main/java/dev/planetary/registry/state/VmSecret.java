package dev.planetary.registry.state;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Random;

/**
 * A VM's own credential: 256 random bits, base64url without padding, handed to the VM once in the answer to its
 * registration. Genesis keeps only its SHA-256 (a stolen data dir or log does not let anyone act as a VM), and a
 * presented secret is compared by hashing it and comparing the digests in constant time.
 */
public final class VmSecret {

    /** 32 bytes: the same strength as the join token, beyond guessing. */
    public static final int BYTES = 32;

    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();

    private VmSecret() {
    }

    /** A new secret from {@code random} (a SecureRandom in Genesis). */
    public static String create(Random random) {
        byte[] b = new byte[BYTES];
        random.nextBytes(b);
        return B64.encodeToString(b);
    }

    /** The stored form: SHA-256 of the secret's characters, base64url. */
    public static String hash(String secret) {
        return B64.encodeToString(sha256(secret.getBytes(StandardCharsets.UTF_8)));
    }

    /** True when {@code presented} (may be null) is the secret whose hash is {@code storedHash} (may be null). */
    public static boolean matches(String storedHash, String presented) {
        if (storedHash == null || presented == null) {
            return false;
        }
        byte[] stored;
        try {
            stored = B64D.decode(storedHash);
        } catch (IllegalArgumentException e) {
            return false;
        }
        return MessageDigest.isEqual(stored, sha256(presented.getBytes(StandardCharsets.UTF_8)));
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
