package dev.planetary.registry.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.planetary.registry.Json;
import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Released;
import dev.planetary.registry.state.Vm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data dir: {@code snapshot.json} (the whole state at one version, replaced atomically) plus {@code wal.log}, an
 * append-only log of every change after it, and {@code port-plan}, the port plan the state was written with. A log
 * record is one line, {@code CRC32C-hex SP json LF}. A torn last record (kill -9 or power loss in the middle of a
 * write) is an incomplete line, without its LF, and is cut off: it was never acknowledged. A complete record that
 * fails its CRC is damage, wherever it is: the start is refused, naming it; {@code repair} drops a damaged
 * <em>last</em> record with a warning (a damaged record followed by good ones is never dropped). The writer calls
 * {@link #append} for a batch and {@link #force} once for it (group commit) before any answer leaves.
 */
public final class Store implements StateStore {

    private static final Logger LOG = LoggerFactory.getLogger(Store.class);
    static final String SNAPSHOT = "snapshot.json";
    static final String LOG_FILE = "wal.log";
    static final String PLAN_FILE = "port-plan";
    /** The file naming this data dir's history (see {@link #historyId}). */
    static final String HISTORY_FILE = "history";
    /** The option that drops a damaged last record (named in the refusal so that the operator finds it). */
    public static final String REPAIR_OPTION = "--repair-log";
    /** Snapshot after this many records: recovery then replays at most this many (a few MB of log). */
    public static final int SNAPSHOT_EVERY = 10_000;
    private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");

    /** What a start finds on disk. */
    public record Recovered(long snapshotVersion, List<Vm> vms, List<Released> released, List<Change> log,
                            long tornBytes) {
    }

    private final Path dir;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private FileChannel wal;
    private long records;

    private Store(Path dir, FileChannel lockChannel, FileLock lock) {
        this.dir = dir;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /** Creates the dir (mode 0700) if needed and takes its lock: two registries never share a data dir. */
    public static Store open(Path dir) throws IOException {
        createDir(dir);
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(dir);
        if (!mode.equals(DIR_MODE)) {
            Files.setPosixFilePermissions(dir, DIR_MODE);
            LOG.warn("data dir {} had mode {}; set to rwx------ (it holds the join token)", dir,
                PosixFilePermissions.toString(mode));
        }
        FileChannel lc = FileChannel.open(dir.resolve("lock"), Set.of(StandardOpenOption.CREATE,
            StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(FILE_MODE));
        FileLock l;
        try {
            l = lc.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            l = null; // held by this very JVM
        }
        if (l == null) {
            lc.close();
            throw new IOException("data dir " + dir + " is in use by another registry process");
        }
        return new Store(dir, lc, l);
    }

    public Path dir() {
        return dir;
    }

    /** {@link #recover(boolean)} without repair: a damaged record refuses the start. */
    public Recovered recover() throws IOException {
        return recover(false);
    }

    /**
     * Reads the snapshot and the log (cutting off a torn last record; with {@code repair}, also a damaged last
     * record), then opens the log for appending.
     */
    public Recovered recover(boolean repair) throws IOException {
        long snapVersion = 0;
        List<Vm> vms = new ArrayList<>();
        List<Released> released = new ArrayList<>();
        Path snap = dir.resolve(SNAPSHOT);
        if (Files.exists(snap)) {
            JsonNode root;
            try {
                root = Json.MAPPER.readTree(Files.readAllBytes(snap));
            } catch (IOException e) {
                throw new IOException("cannot read " + snap + ": " + e.getMessage(), e);
            }
            snapVersion = root.get("version").longValue();
            for (JsonNode n : root.get("vms")) {
                vms.add(Json.vmFrom(n));
            }
            for (JsonNode n : root.get("released")) {
                released.add(Json.releasedFrom(n));
            }
        }
        Path logPath = dir.resolve(LOG_FILE);
        List<Change> changes = new ArrayList<>();
        long valid = 0;
        long torn = 0;
        long damaged = 0;
        if (Files.exists(logPath)) {
            byte[] all = Files.readAllBytes(logPath);
            int pos = 0;
            int lineNo = 0;
            while (pos < all.length) {
                lineNo++;
                int nl = indexOf(all, (byte) '\n', pos);
                if (nl < 0) {
                    torn = all.length - pos; // an incomplete last line: a write cut short, never acknowledged
                    break;
                }
                Change c = parse(all, pos, nl);
                if (c == null) {
                    String what = logPath + ": record " + lineNo + " at byte " + pos + " is damaged (complete, but its "
                        + "checksum or content is wrong)";
                    if (nl + 1 < all.length) {
                        throw new IOException(what + " and followed by more records; refusing to start (restore the "
                            + "data dir from a backup, or move " + LOG_FILE + " away to start from the snapshot alone)");
                    }
                    if (!repair) {
                        throw new IOException(what + "; it is the last record, but a complete record is not a torn "
                            + "write: it may have been acknowledged. Refusing to start: restore the data dir from a "
                            + "backup, or start once with " + REPAIR_OPTION + " to drop this record (the change it "
                            + "held is lost)");
                    }
                    LOG.warn("{}; dropped as asked by {} (the change it held is lost)", what, REPAIR_OPTION);
                    damaged = all.length - pos;
                    break;
                }
                if (c.version() > snapVersion) {
                    changes.add(c);
                }
                pos = nl + 1;
                valid = pos;
            }
        }
        boolean created = !Files.exists(logPath);
        wal = FileChannel.open(logPath, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE),
            PosixFilePermissions.asFileAttribute(FILE_MODE));
        if (created) {
            forceDir(); // the new file's directory entry survives a power loss with the first records in it
        }
        if (torn > 0) {
            LOG.warn("{}: cut off a torn last record ({} bytes, no end of line: the write was never acknowledged)",
                logPath, torn);
        }
        if (torn > 0 || damaged > 0) {
            wal.truncate(valid);
            wal.force(true);
        }
        wal.position(valid);
        records = changes.size();
        return new Recovered(snapVersion, vms, released, changes, torn);
    }

    /** The port plan recorded in the data dir ({@code port-plan}), or null when none is. */
    public String recordedPlan() throws IOException {
        Path f = dir.resolve(PLAN_FILE);
        if (!Files.exists(f)) {
            return null;
        }
        return Files.readString(f, StandardCharsets.US_ASCII).trim();
    }

    /** Records the port plan the state is written with: temp file, fsync, atomic rename, directory fsync. */
    public void recordPlan(String spec) throws IOException {
        writeAtomically(PLAN_FILE, (spec + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * The id of the history this data dir's versions belong to, made (random, 128 bits) and recorded the first time
     * it is asked for. Clients send it back to tell an instance of another history at the same version apart
     * ({@code Genesis-History}); a data dir copied elsewhere keeps its history, and a new one starts another.
     */
    public String historyId() throws IOException {
        Path f = dir.resolve(HISTORY_FILE);
        if (Files.exists(f)) {
            String id = Files.readString(f, StandardCharsets.US_ASCII).trim();
            if (HistoryIds.valid(id)) {
                return id;
            }
            throw new IOException(f + ": not a history id (expected " + HistoryIds.SHAPE + ")");
        }
        String id = HistoryIds.random();
        writeAtomically(HISTORY_FILE, (id + "\n").getBytes(StandardCharsets.US_ASCII));
        return id;
    }

    /** True when the data dir holds any state (a snapshot or a non-empty log). */
    public boolean hasState() throws IOException {
        Path log = dir.resolve(LOG_FILE);
        return Files.exists(dir.resolve(SNAPSHOT)) || (Files.exists(log) && Files.size(log) > 0);
    }

    /** Writes a batch of records (not yet durable: call {@link #force}). */
    public void append(List<Change> changes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 * changes.size());
        for (Change c : changes) {
            byte[] json = Json.bytes(Json.changeStored(c));
            CRC32C crc = new CRC32C();
            crc.update(json);
            out.writeBytes(String.format("%08x ", crc.getValue()).getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(json);
            out.write('\n');
        }
        ByteBuffer buf = ByteBuffer.wrap(out.toByteArray());
        while (buf.hasRemaining()) {
            wal.write(buf);
        }
        records += changes.size();
    }

    /** fsync: after this the appended records survive kill -9 and power loss. */
    public void force() throws IOException {
        wal.force(false);
    }

    @Override
    public String describe() {
        return "data dir " + dir;
    }

    /** Appends and fsyncs the batch; the only writer of its locked data dir, it never loses a commit race. */
    @Override
    public boolean commit(long base, List<Change> changes) throws IOException {
        append(changes);
        force();
        return true;
    }

    @Override
    public boolean compactDue() {
        return records >= SNAPSHOT_EVERY;
    }

    /** {@link #snapshot}. */
    @Override
    public void compact(long version, List<Vm> vms, List<Released> released) throws IOException {
        snapshot(version, vms, released);
    }

    public long logRecords() {
        return records;
    }

    /** Writes the whole state at {@code version} atomically, then empties the log (its records are in it). */
    public void snapshot(long version, List<Vm> vms, List<Released> released) throws IOException {
        ObjectNode root = Json.object();
        root.put("format", 1);
        root.put("version", version);
        ArrayNode a = root.putArray("vms");
        vms.forEach(vm -> a.add(Json.vmStored(vm)));
        ArrayNode r = root.putArray("released");
        released.forEach(x -> r.add(Json.releasedStored(x)));
        writeAtomically(SNAPSHOT, Json.bytes(root));
        // The snapshot is durable: records up to its version are redundant. A crash between here and the truncation
        // leaves old records that recovery skips by version.
        wal.truncate(0);
        wal.position(0);
        wal.force(true);
        records = 0;
    }

    private void writeAtomically(String name, byte[] content) throws IOException {
        Path tmp = dir.resolve(name + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING), PosixFilePermissions.asFileAttribute(FILE_MODE))) {
            ByteBuffer b = ByteBuffer.wrap(content);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        try {
            Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the data dir's file system cannot rename atomically: " + dir, e);
        }
        forceDir();
    }

    private void forceDir() throws IOException {
        fsyncDir(dir);
    }

    /**
     * Makes the directory entries of {@code dir} durable (a file created or renamed in it survives a power loss only
     * once its directory is fsync'd, not only the file).
     */
    public static void fsyncDir(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    /** Creates a data dir (mode 0700, parents too) when missing, and makes its entry in its parent durable. */
    public static void createDir(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
            fsyncDir(parent);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            if (wal != null) {
                wal.close();
            }
        } finally {
            lock.release();
            lockChannel.close();
        }
    }

    private static Change parse(byte[] all, int from, int nl) {
        if (nl - from < 10 || all[from + 8] != ' ') {
            return null;
        }
        try {
            long crcWanted = Long.parseLong(new String(all, from, 8, StandardCharsets.US_ASCII), 16);
            CRC32C crc = new CRC32C();
            crc.update(all, from + 9, nl - from - 9);
            if (crc.getValue() != crcWanted) {
                return null;
            }
            return Json.changeFrom(Json.MAPPER.readTree(all, from + 9, nl - from - 9));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static int indexOf(byte[] a, byte b, int from) {
        for (int i = from; i < a.length; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }
}
