package dev.planetary.registry.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.planetary.core.ports.PortPlan;
import dev.planetary.registry.state.Change;
import dev.planetary.registry.state.Released;
import dev.planetary.registry.state.Vm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoreTest {

    @TempDir
    Path dir;

    private static Change change(long v, int offset) {
        Vm vm = new Vm(String.format("vm_%06x", v), null, "127.0.0.1", 2, 0, 0, Map.of("ssh", 22), Map.of(),
            PortPlan.DEFAULT.ports(offset), Vm.Status.ACTIVE, 0);
        return new Change(v, Change.Type.ADDED, vm, "registered");
    }

    @Test
    void recordsSurviveReopenAndATornTailIsCutOff() throws Exception {
        Path d = dir.resolve("data");
        try (Store s = Store.open(d)) {
            s.recover();
            s.append(List.of(change(1, 1), change(2, 2)));
            s.force();
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d))).isEqualTo("rwx------");
        Files.write(d.resolve("wal.log"), "0badc0de {\"version\":3,\"ty".getBytes(), StandardOpenOption.APPEND);
        long torn;
        try (Store s = Store.open(d)) {
            Store.Recovered r = s.recover();
            assertThat(r.log()).extracting(Change::version).containsExactly(1L, 2L);
            torn = r.tornBytes();
            s.append(List.of(change(3, 3)));
            s.force();
        }
        assertThat(torn).isPositive();
        try (Store s = Store.open(d)) {
            assertThat(s.recover().log()).extracting(Change::version).containsExactly(1L, 2L, 3L);
        }
    }

    @Test
    void aDamagedRecordInTheMiddleRefusesTheStart() throws Exception {
        Path d = dir.resolve("data");
        try (Store s = Store.open(d)) {
            s.recover();
            s.append(List.of(change(1, 1), change(2, 2)));
            s.force();
        }
        byte[] all = Files.readAllBytes(d.resolve("wal.log"));
        all[20] ^= 1;
        Files.write(d.resolve("wal.log"), all);
        try (Store s = Store.open(d)) {
            assertThatThrownBy(s::recover).hasMessageContaining("record 1").hasMessageContaining("damaged");
        }
    }

    @Test
    void aCompleteLastRecordWithABadChecksumIsDamageNotATornWrite() throws Exception {
        Path d = dir.resolve("data");
        try (Store s = Store.open(d)) {
            s.recover();
            s.append(List.of(change(1, 1), change(2, 2)));
            s.force();
        }
        byte[] all = Files.readAllBytes(d.resolve("wal.log"));
        int lastStart = indexOfSecondLine(all);
        all[lastStart + 20] ^= 1; // a bit flips inside the last record; its newline is still there
        Files.write(d.resolve("wal.log"), all);
        try (Store s = Store.open(d)) {
            assertThatThrownBy(s::recover).hasMessageContaining("record 2").hasMessageContaining("damaged")
                .hasMessageContaining("--repair-log");
        }
        assertThat(Files.readAllBytes(d.resolve("wal.log"))).as("nothing cut off").isEqualTo(all);
        // the explicit repair drops it (with a warning), and the log goes on from the record before it
        try (Store s = Store.open(d)) {
            assertThat(s.recover(true).log()).extracting(Change::version).containsExactly(1L);
            s.append(List.of(change(2, 3)));
            s.force();
        }
        try (Store s = Store.open(d)) {
            assertThat(s.recover().log()).extracting(Change::version).containsExactly(1L, 2L);
        }
    }

    private static int indexOfSecondLine(byte[] all) {
        for (int i = 0; i < all.length; i++) {
            if (all[i] == '\n') {
                return i + 1;
            }
        }
        throw new AssertionError("one line only");
    }

    @Test
    void snapshotEmptiesTheLogAndSecondOpenerIsRefused() throws Exception {
        Path d = dir.resolve("data");
        try (Store s = Store.open(d)) {
            s.recover();
            s.append(List.of(change(1, 1), change(2, 2)));
            s.force();
            s.snapshot(2, List.of(change(1, 1).vm(), change(2, 2).vm()), List.of(new Released("vm_00000a", "i", PortPlan.DEFAULT.ports(7))));
            s.append(List.of(change(3, 3)));
            s.force();
            assertThatThrownBy(() -> Store.open(d)).hasMessageContaining("in use by another registry");
        }
        try (Store s = Store.open(d)) {
            Store.Recovered r = s.recover();
            assertThat(r.snapshotVersion()).isEqualTo(2);
            assertThat(r.vms()).hasSize(2);
            assertThat(r.released()).containsExactly(new Released("vm_00000a", "i", PortPlan.DEFAULT.ports(7)));
            assertThat(r.log()).extracting(Change::version).containsExactly(3L);
        }
    }
}
