package dev.planetary.registry.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's copy of its VM's secret on disk: one line, mode 0600, replaced atomically. A missing or unreadable file
 * means no secret (the agent then registers from the VM's address and gets a new one); the secret is never logged.
 */
final class SecretFile {

    private static final Logger LOG = LoggerFactory.getLogger(SecretFile.class);
    private static final java.util.regex.Pattern FORM = java.util.regex.Pattern.compile("[A-Za-z0-9_-]{16,128}");

    private SecretFile() {
    }

    /** The secret in {@code file}; null when there is no file (or none configured) or it holds no secret. */
    static String read(Path file) {
        if (file == null) {
            return null;
        }
        try {
            String s = Files.readString(file, StandardCharsets.US_ASCII).trim();
            if (!FORM.matcher(s).matches()) {
                LOG.warn("secret file {} does not hold a secret; registering without one", file);
                return null;
            }
            return s;
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            LOG.warn("cannot read the secret file {}: {}; registering without it", file, e.getMessage());
            return null;
        }
    }

    /** Stores {@code secret} in {@code file} (nothing when null); a failure is logged, the agent goes on. */
    static void write(Path file, String secret) {
        if (file == null) {
            return;
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, secret + "\n", StandardCharsets.US_ASCII);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | UnsupportedOperationException e) {
            LOG.warn("cannot store the VM's secret in {}: {} (kept in memory; a restarted agent gets a new one)", file,
                e.toString());
        }
    }
}
