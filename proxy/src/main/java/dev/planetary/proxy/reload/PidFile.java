package dev.planetary.proxy.reload;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * HAProxy's {@code -p PIDFILE}: this process's id, written whole (a temporary file renamed over the path) once the
 * proxy listens, so that {@code bin/planetary reload --pidfile F} and {@code -sf $(cat F)} always read a whole
 * number. At a stop it is removed only if it still names this process: after a hand-over it names the new one.
 */
public final class PidFile {

    private final Path path;
    private final String pid = Long.toString(ProcessHandle.current().pid());

    private PidFile(Path path) {
        this.path = path;
    }

    public static PidFile write(Path path) throws IOException {
        Path tmp = path.resolveSibling(path.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        PidFile f = new PidFile(path);
        Files.writeString(tmp, f.pid + "\n", StandardCharsets.US_ASCII);
        Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return f;
    }

    /** Removes the file if it still names this process. */
    public void removeIfOurs() {
        try {
            if (Files.readString(path, StandardCharsets.US_ASCII).trim().equals(pid)) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            // gone or unreadable: nothing of ours to remove
        }
    }
}
