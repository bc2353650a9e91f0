package dev.planetary.registry;

import dev.planetary.registry.store.Store;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The join token: {@code GENESIS_TOKEN} from the environment, else the one stored in the data dir, else a new one
 * generated at first start, stored with mode 0600 and printed once.
 */
public final class Token {

    public static final String ENV = "GENESIS_TOKEN";
    static final String FILE = "token";
    /** Shorter tokens are refused: 16 characters is the floor for a secret that guards registration. */
    static final int MIN_LENGTH = 16;

    /** The token and where it came from. */
    public record Resolved(String token, String source, boolean generated) {
    }

    private Token() {
    }

    public static Resolved resolve(String fromEnv, Path dataDir) throws IOException {
        if (fromEnv != null && !fromEnv.isEmpty()) {
            String t = fromEnv.trim();
            if (t.length() < MIN_LENGTH || !t.matches("[\\x21-\\x7e]+")) {
                throw new IOException(ENV + " must be at least " + MIN_LENGTH + " printable characters without spaces");
            }
            return new Resolved(t, "environment variable " + ENV, false);
        }
        Path file = dataDir.resolve(FILE);
        if (Files.exists(file)) {
            String t = Files.readString(file, StandardCharsets.US_ASCII).trim();
            if (t.length() < MIN_LENGTH) {
                throw new IOException(file + " holds no valid token (delete it to generate a new one)");
            }
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
            return new Resolved(t, file.toString(), false);
        }
        byte[] raw = new byte[32];
        new SecureRandom().nextBytes(raw);
        String t = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        Path tmp = dataDir.resolve(FILE + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, t + "\n", StandardCharsets.US_ASCII, StandardOpenOption.WRITE,
            StandardOpenOption.SYNC);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        // the rename is durable only once the directory is: without this a power loss could lose the token that was
        // just printed, and the next start would generate another one that no VM knows
        Store.fsyncDir(dataDir);
        return new Resolved(t, file.toString(), true);
    }
}
