package dev.planetary.swarm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code --ssh}: a real OpenSSH sshd per VM on its own address, port {@link LocalVm#SSH_PORT}. One host key and one
 * client key, generated once into {@code DIR/ssh} (kept across runs, so known_hosts entries stay valid); the client
 * key is the only authorised one, and every login runs a forced command that prints the VM's id, instance and address
 * (it is a demonstration VM, not a shell).
 */
final class SshSetup {

    static final String SSHD = "/usr/sbin/sshd";
    private static final long KEYGEN_TIMEOUT_SECONDS = 30;

    private final Path dir;
    private final Path vmsDir;
    private final Path logs;

    private SshSetup(Path dir, Path vmsDir, Path logs) {
        this.dir = dir;
        this.vmsDir = vmsDir;
        this.logs = logs;
    }

    /** Makes the keys when they are missing; fails with a clear message when OpenSSH is not installed. */
    static SshSetup prepare(Path stateDir) throws IOException, InterruptedException {
        if (!Files.isExecutable(Path.of(SSHD))) {
            throw new IllegalStateException("--ssh needs OpenSSH's server (" + SSHD + "): apt-get install "
                + "openssh-server");
        }
        Path d = Files.createDirectories(stateDir.resolve("ssh"));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx------"));
        keygen(d.resolve("host_ed25519"), "planetary-up host");
        keygen(d.resolve("id_ed25519"), "planetary-up client");
        Files.copy(d.resolve("id_ed25519.pub"), d.resolve("authorized_keys"),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        // sshd refuses to start without its privilege separation directory (Debian makes it only at boot)
        Path privsep = Path.of("/run/sshd");
        if (!Files.isDirectory(privsep)) {
            Files.createDirectories(privsep);
        }
        return new SshSetup(d, Files.createDirectories(stateDir.resolve("vms")),
            Files.createDirectories(stateDir.resolve("logs")));
    }

    private static void keygen(Path key, String comment) throws IOException, InterruptedException {
        if (Files.exists(key)) {
            return;
        }
        Process p = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f",
            key.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(KEYGEN_TIMEOUT_SECONDS, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException("ssh-keygen failed for " + key);
        }
    }

    /** The private key that logs in to every VM (what {@code up} prints). */
    Path clientKey() {
        return dir.resolve("id_ed25519");
    }

    /** The file the VM's forced command prints: its id once Genesis gave one. */
    Path idFile(LocalVm vm) {
        return vmsDir.resolve(vm.instance() + ".id");
    }

    /** Starts the VM's sshd in the foreground ({@code -D}), logging to {@code DIR/logs/sshd-INSTANCE.log}. */
    Process start(LocalVm vm) throws IOException {
        Path idFile = idFile(vm);
        Files.writeString(idFile, vm.id() + " " + vm.instance() + " " + vm.address() + "\n");
        Path config = vmsDir.resolve(vm.instance() + ".sshd_config");
        Files.writeString(config, """
            ListenAddress %s:%d
            HostKey %s
            AuthorizedKeysFile %s
            PidFile none
            StrictModes no
            UsePAM no
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            AllowTcpForwarding no
            X11Forwarding no
            PermitTTY no
            PrintMotd no
            ForceCommand cat %s
            """.formatted(vm.address(), LocalVm.SSH_PORT, dir.resolve("host_ed25519"),
            dir.resolve("authorized_keys"), idFile));
        Path log = logs.resolve("sshd-" + vm.instance() + ".log");
        return new ProcessBuilder(List.of(SSHD, "-D", "-e", "-f", config.toString()))
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    }

    /** Writes the VM's id for its forced command, once registered. */
    void registered(LocalVm vm) throws IOException {
        Files.writeString(idFile(vm), vm.id() + " " + vm.instance() + " " + vm.address() + "\n");
    }
}
