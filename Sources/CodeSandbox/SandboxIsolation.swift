import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What this machine lets the sandbox do, found once per process by trying it.
///
/// With bubblewrap (`bwrap`, Debian's `bubblewrap`) and namespaces allowed, tested code runs in new PID, network,
/// mount, IPC, UTS and user namespaces: it sees only its own processes (not the parent's environment or command
/// line, and cannot signal it), has no network but its own loopback, sees a private /tmp, its run directory and a
/// read-only view of the system directories (home directories and the project are hidden), and every process it
/// starts dies with the sandbox. /tmp and the run directory are size-capped tmpfs mounts where bubblewrap takes
/// `--size` (0.8 and later), so nothing the code writes reaches the host's disk. A pids cgroup caps the process
/// count (RLIMIT_NPROC does not bind root). What the machine refuses is reported here and in `annotate`'s start-up
/// line, and the run falls back to what remains.
public struct SandboxIsolation: Sendable, Equatable, CustomStringConvertible {
    /// The bubblewrap executable, when namespaces work through it.
    public var bubblewrap: String?
    /// A pids cgroup directory the sandbox can create children under (cgroup v1 `pids` or v2 with `pids`).
    public var cgroupRoot: String?
    /// bubblewrap takes `--size` for its tmpfs mounts.
    public var tmpfsSize = false

    /// Tested code sees only its own processes and cannot signal the parent.
    public var pidNamespace: Bool { bubblewrap != nil }
    /// Tested code has no network (a loopback of its own).
    public var networkNamespace: Bool { bubblewrap != nil }
    /// A private /tmp, the run directory, and the system directories read-only; the rest hidden.
    public var privateFilesystem: Bool { bubblewrap != nil }
    /// The run directory and /tmp are tmpfs mounts of at most `SandboxLimits.diskMB` each, off the host's disk.
    public var diskCap: Bool { bubblewrap != nil && tmpfsSize }
    /// The process count is capped for root too.
    public var processLimit: Bool { cgroupRoot != nil }

    /// Every isolation the sandbox can use is on: the namespaces, the disk cap and a process limit that binds root.
    public var isComplete: Bool { pidNamespace && diskCap && processLimit }

    /// The report `annotate --task code` and `eval code` print when they start: what is on and what is not.
    public var description: String {
        func flag(_ on: Bool) -> String { on ? "yes" : "NO" }
        var text = "sandbox: pid namespace \(flag(pidNamespace)), network namespace \(flag(networkNamespace)), "
            + "private filesystem \(flag(privateFilesystem)), disk cap \(flag(diskCap)), "
            + "process limit \(processLimit ? "cgroup" : "RLIMIT_NPROC only")"
        if bubblewrap == nil {
            text += " (install bubblewrap, and allow user namespaces, for the namespaces)"
        } else if !tmpfsSize {
            text += " (bubblewrap 0.8 or later caps the run directory and /tmp)"
        }
        return text
    }

    /// The isolation this machine allows, probed on first use.
    public static let current = probe()

    static func probe() -> SandboxIsolation {
        var isolation = SandboxIsolation()
        for candidate in ["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"] where access(candidate, X_OK) == 0 {
            let arguments = [candidate] + bubblewrapIsolationFlags + ["--ro-bind", "/", "/", "true"]
            if let status = runQuietly(arguments), status == 0 {
                isolation.bubblewrap = candidate
                let sized = [candidate] + bubblewrapIsolationFlags
                    + ["--ro-bind", "/", "/", "--size", "1048576", "--tmpfs", "/tmp", "true"]
                isolation.tmpfsSize = runQuietly(sized) == 0
            }
            break
        }
        isolation.cgroupRoot = probeCgroup()
        return isolation
    }

    /// Namespaces and privileges every sandboxed run drops, before any mounts.
    static let bubblewrapIsolationFlags = [
        "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
        "--die-with-parent", "--new-session", "--clearenv",
    ]

    /// A pids cgroup parent that accepts a child group, or nil.
    static func probeCgroup() -> String? {
        for root in ["/sys/fs/cgroup/pids", "/sys/fs/cgroup"] {
            if root == "/sys/fs/cgroup" {
                guard let controllers = try? String(contentsOfFile: root + "/cgroup.subtree_control", encoding: .utf8),
                      controllers.split(separator: " ").contains(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "pids" })
                else { continue }
            }
            let probe = root + "/text2grad-probe-\(getpid())"
            guard mkdir(probe, 0o755) == 0 else { continue }
            let usable = access(probe + "/pids.max", W_OK) == 0 && access(probe + "/cgroup.procs", W_OK) == 0
            rmdir(probe)
            if usable { return root }
        }
        return nil
    }

    /// Runs a short command with no input or output; its exit status, or nil when it could not start.
    static func runQuietly(_ arguments: [String]) -> Int32? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0) }
        let argv = arguments.map { strdup($0) } + [nil]
        let env = [strdup("PATH=/usr/bin:/bin"), nil]
        defer {
            argv.forEach { free($0) }
            env.forEach { free($0) }
        }
        var pid: pid_t = 0
        guard posix_spawn(&pid, arguments[0], &actions, nil, argv, env) == 0 else { return nil }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return ExitStatus(raw: status).exitCode
    }
}

/// A pids cgroup holding one sandboxed run: it caps the process count and, at the end, lets every process the
/// run started be found and killed, wherever it moved (new sessions, double forks).
final class SandboxCgroup {
    let path: String
    private var removed = false

    /// Creates the group under `root` with `pids.max` = `processes`; nil when the machine refuses.
    init?(root: String, processes: Int) {
        path = root + "/text2grad-\(UUID().uuidString)"
        guard mkdir(path, 0o755) == 0 else { return nil }
        guard (try? "\(processes)".write(toFile: path + "/pids.max", atomically: false, encoding: .utf8)) != nil else {
            rmdir(path)
            return nil
        }
    }

    var procsFile: String { path + "/cgroup.procs" }

    /// Kills every process in the group until it is empty, then removes the group; once removed, returns at once.
    ///
    /// A process leaves the group when it has exited, so an empty group means every process of the run is gone.
    /// The group is polled every millisecond: a run's processes die within a few after SIGKILL.
    func killAllAndRemove() {
        guard !removed else { return }
        for _ in 0..<5_000 {
            let pids = ((try? String(contentsOfFile: procsFile, encoding: .utf8)) ?? "")
                .split(separator: "\n").compactMap { pid_t($0) }
            if pids.isEmpty && (rmdir(path) == 0 || errno == ENOENT) {
                removed = true
                return
            }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(1_000)
        }
    }
}

extension Sandbox {
    /// The real interpreter behind `python` (a pyenv shim or a venv's link), found outside the sandbox once, and
    /// the prefix to mount read-only inside it when it lies outside /usr.
    static func resolvePython(_ python: String) -> (executable: String, prefix: String?) {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-python-\(UUID().uuidString)").path
        defer { unlink(probe) }
        let script = "import sys; open(sys.argv[1], 'w').write(sys.executable + '\\n' + sys.base_prefix + '\\n' + sys.prefix)"
        let command = ["/bin/sh", "-c", "exec \"$0\" -c \"$1\" \"$2\"", python, script, probe]
        guard runQuietlyWithPath(command) == 0, let text = try? String(contentsOfFile: probe, encoding: .utf8) else {
            return (python, nil)
        }
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.count == 3 else { return (python, nil) }
        let prefixes = Set([lines[1], lines[2]]).filter { !$0.hasPrefix("/usr") }
        return (lines[0], prefixes.first)
    }

    /// `runQuietly` with the caller's PATH, so a bare `python3` resolves as it does for the user.
    private static func runQuietlyWithPath(_ arguments: [String]) -> Int32? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return SandboxIsolation.runQuietly(["/usr/bin/env", "PATH=" + path] + arguments)
    }

    /// The bubblewrap command line: isolation flags, then the mounts. Only paths are on it: nothing secret.
    ///
    /// The working directory is a tmpfs of its own holding read-only binds of `inputs` (files of `directory`), so
    /// nothing the code writes reaches the host's run directory; it and /tmp are `diskBytes` large when given.
    static func bubblewrapArguments(
        bubblewrap: String, directory: String, inputs: [String], python: (executable: String, prefix: String?),
        environment: [String: String], diskBytes: Int?
    ) -> [String] {
        var arguments = [bubblewrap] + SandboxIsolation.bubblewrapIsolationFlags
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) { arguments += ["--setenv", key, value] }
        arguments += ["--ro-bind", "/usr", "/usr"]
        for top in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: top) {
                arguments += ["--symlink", target, top]
            } else if FileManager.default.fileExists(atPath: top) {
                arguments += ["--ro-bind", top, top]
            }
        }
        // A few system files programs read; not /etc as a whole (it holds credentials such as /etc/shadow).
        for file in ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf",
                     "hosts", "alternatives", "ssl", "mime.types"] {
            arguments += ["--ro-bind-try", "/etc/" + file, "/etc/" + file]
        }
        if let prefix = python.prefix { arguments += ["--ro-bind", prefix, prefix] }
        let size = diskBytes.map { ["--size", String($0)] } ?? []
        arguments += ["--proc", "/proc", "--dev", "/dev"] + size + ["--tmpfs", "/tmp"] + size
            + ["--tmpfs", sandboxDirectory]
        for name in inputs.sorted() {
            arguments += ["--ro-bind", directory + "/" + name, sandboxDirectory + "/" + name]
        }
        // The sandbox's own root (where bwrap made the mount points) is made read-only last; /tmp and the working
        // directory are mounts of their own and stay writable.
        arguments += ["--chdir", sandboxDirectory, "--remount-ro", "/"]
        return arguments
    }

    /// Where the run directory appears inside the sandbox.
    static let sandboxDirectory = "/sandbox"
}

extension Sandbox {
    private static let pythonLock = NSLock()
    // nonisolated(unsafe): read and written only under `pythonLock`.
    nonisolated(unsafe) private static var pythons: [String: (executable: String, prefix: String?)] = [:]

    /// `resolvePython`, once per interpreter name.
    static func python(_ name: String) -> (executable: String, prefix: String?) {
        pythonLock.lock()
        defer { pythonLock.unlock() }
        if let known = pythons[name] { return known }
        let resolved = resolvePython(name)
        pythons[name] = resolved
        return resolved
    }
}
