import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a child process ended.
struct ExitStatus: Sendable, Equatable {
    /// Raw `waitpid` status.
    var raw: Int32

    /// The exit code, or minus the signal that ended the process.
    var exitCode: Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : -signal
    }
}

/// A child process in its own process group, with stdout and stderr going to files.
///
/// posix_spawn rather than Foundation's `Process` because the run needs a process group of its
/// own (so a timeout kills the tests' children too), output in files (so a chatty test can
/// neither fill a pipe and stall nor grow past the file-size limit), and two descriptors of its own:
/// the harness's secret on 3 (a pipe holding it, already closed for writing) and the proof file on 4.
final class SpawnedProcess: Sendable {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    /// Where the harness writes the secret back (descriptor 4); empty unless the tests passed.
    let proofPath: String

    /// Starts `arguments[0]` with the given arguments in `directory`; output files live there too.
    /// With `secret`, the child gets it on descriptor 3 and the proof file on descriptor 4.
    init(arguments: [String], directory: String, environment: [String: String], secret: [UInt8]? = nil) throws {
        stdoutPath = directory + "/t2g_stdout.txt"
        stderrPath = directory + "/t2g_stderr.txt"
        proofPath = directory + "/t2g_proof.txt"
        // Every descriptor opened here is close-on-exec and numbered above 9, so a run started at the same time
        // on another thread inherits none of them, and the dup2 to 3 and 4 below never meets its own number.
        var passed: [Int32] = []
        defer { passed.forEach { close($0) } }
        if let secret {
            passed.append(try Self.pipeHolding(secret))
            let proof = open(proofPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard proof >= 0 else { throw SandboxError(detail: "cannot create \(proofPath): \(Self.errorText())") }
            passed.append(try Self.moveAbove9(proof))
        }
        #if os(Linux)
            var actions = posix_spawn_file_actions_t()
            var attributes = posix_spawnattr_t()
        #else
            var actions: posix_spawn_file_actions_t?
            var attributes: posix_spawnattr_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        for (index, descriptor) in passed.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, descriptor, 3 + Int32(index))
        }
        // The caller's thread may block signals (a server, a test runner): tested code gets the default mask
        // and default dispositions, or its SIGALRM, SIGTERM, ... would never fire.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        // The shell changes into the directory itself: posix_spawn has no portable chdir action.
        var argv = arguments
        if argv.count >= 3, argv[0] == "/bin/sh", argv[1] == "-c" {
            argv[2] = "cd '\(directory)' || exit 126; " + argv[2]
        }
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, argv[0], &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else {
            throw SandboxError(detail: "cannot start \(argv[0]): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    /// The read end of a pipe that holds `bytes` and is closed for writing (the reader gets them, then EOF).
    private static func pipeHolding(_ bytes: [UInt8]) throws -> Int32 {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw SandboxError(detail: "cannot make a pipe: \(errorText())") }
        let reader: Int32
        do {
            reader = try moveAbove9(ends[0])
        } catch {
            close(ends[1])
            throw error
        }
        // A secret of a few dozen bytes fits the pipe's buffer: the write does not wait for the reader.
        let written = bytes.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) }
        close(ends[1])
        guard written == bytes.count else {
            close(reader)
            throw SandboxError(detail: "cannot write the run's secret: \(errorText())")
        }
        return reader
    }

    /// `descriptor` renumbered to 10 or above, close-on-exec; the original is closed.
    private static func moveAbove9(_ descriptor: Int32) throws -> Int32 {
        let moved = fcntl(descriptor, F_DUPFD_CLOEXEC, 10)
        close(descriptor)
        guard moved >= 0 else { throw SandboxError(detail: "cannot renumber a descriptor: \(errorText())") }
        return moved
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }

    /// Waits for the exit, killing the process group after `timeout` seconds or on cancellation.
    func wait(timeout: Double) async -> (ExitStatus, timedOut: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        var killed = false
        var pause: UInt64 = 1_000_000
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result == -1 && errno != EINTR) { break }
            if !killed && (Date() >= deadline || Task.isCancelled) {
                kill(-pid, SIGKILL)
                killed = true
            }
            // Polling keeps this free of threads blocked in waitpid. The pause grows from 1 ms to 10 ms, so a
            // short run is seen ending at once and a long one costs few wake-ups.
            // Once cancelled, Task.sleep returns at once, so a plain sleep avoids a busy loop.
            if Task.isCancelled {
                usleep(10_000)
            } else {
                try? await Task.sleep(nanoseconds: pause)
            }
            pause = min(pause * 2, 10_000_000)
        }
        // Reap stragglers the tests may have left in the group.
        kill(-pid, SIGKILL)
        return (ExitStatus(raw: status), killed && !Task.isCancelled)
    }
}
