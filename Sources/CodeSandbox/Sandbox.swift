import Common
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The outcome of running a response's code against its tests, as written to the record's `execution`.
public struct ExecutionResult: Codable, Sendable, Equatable {
    /// True when the test run exited 0 in time.
    public var passed: Bool
    /// The runner's exit code; minus the signal number when a signal ended it (as Python reports it).
    public var exitCode: Int32
    /// Standard output, clipped to `Sandbox.outputLimit` characters.
    public var stdout: String
    /// Standard error, clipped likewise.
    public var stderr: String
    /// True when the wall-clock limit ended the run.
    public var timedOut: Bool

    enum CodingKeys: String, CodingKey {
        case passed, stdout, stderr
        case exitCode = "exit_code"
        case timedOut = "timed_out"
    }
}

/// Resource limits for one test run.
public struct SandboxLimits: Codable, Sendable, Equatable {
    /// Wall-clock limit in seconds; the whole process group is killed after it.
    public var wallSeconds: Double = 30
    /// CPU-time limit in seconds (`ulimit -t`).
    public var cpuSeconds: Int = 10
    /// Address-space limit in MiB (`ulimit -v`).
    public var memoryMB: Int = 1024
    /// Largest file the code may write, in MiB (`ulimit -f`); also caps captured output.
    public var fileSizeMB: Int = 16
    /// Process limit (RLIMIT_NPROC, set by the runner; the kernel does not apply it to root).
    public var processes: Int = 64
    /// The Python interpreter to run.
    public var python: String = "python3"

    /// The defaults above.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case wallSeconds = "wall_seconds"
        case cpuSeconds = "cpu_seconds"
        case memoryMB = "memory_mb"
        case fileSizeMB = "file_size_mb"
        case processes, python
    }
}

/// Runs Python code against unit tests in a fresh temporary directory, under resource limits.
///
/// Isolation, in order (see `SandboxIsolation` for what the machine allows and what is reported):
/// 1. a new directory per run, removed afterwards;
/// 2. an empty, explicit environment (a fixed PATH, HOME, locale: never the parent's variables or API keys),
///    and nothing secret on any command line;
/// 3. with bubblewrap: new PID, network, mount, IPC, UTS and user namespaces, all capabilities dropped; the
///    code sees its run directory, a private /tmp and the system directories read-only, nothing else;
/// 4. a pids cgroup capping the process count (for root too), killed whole at the end, so `setsid` children
///    and double-forked daemons die with the run;
/// 5. CPU, memory and file-size limits via `ulimit`; the default signal mask and dispositions;
/// 6. a process group of its own, killed whole at the wall-clock limit.
public struct Sandbox: Sendable {
    /// Characters of stdout / stderr kept in the record.
    public static let outputLimit = 8000
    /// The limits applied to every run.
    public var limits: SandboxLimits

    /// Creates a sandbox.
    public init(limits: SandboxLimits = SandboxLimits()) {
        self.limits = limits
    }

    /// Runs `code` as `solution.py` against `tests` as `test_solution.py` (see `runner`).
    /// Throws only if nothing could be started.
    public func run(code: String, tests: String) async throws -> ExecutionResult {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("text2grad-sandbox-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
            try Data(code.utf8).write(to: directory.appendingPathComponent("solution.py"))
            try Data(tests.utf8).write(to: directory.appendingPathComponent("test_solution.py"))
            try Data(Self.runner(processes: limits.processes).utf8)
                .write(to: directory.appendingPathComponent("t2g_runner.py"))
        } catch {
            throw SandboxError(detail: "cannot prepare \(directory.path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: directory) }
        let isolation = SandboxIsolation.current
        let cgroup = isolation.cgroupRoot.flatMap { SandboxCgroup(root: $0, processes: limits.processes) }
        defer { cgroup?.killAllAndRemove() }
        // The shell joins the cgroup ($0, "-" for none) before anything else runs, then execs the command.
        let script = """
            ulimit -t \(limits.cpuSeconds) && ulimit -v \(limits.memoryMB * 1024) && \
            ulimit -f \(limits.fileSizeMB * 2048) && { [ "$0" = - ] || echo $$ > "$0"; } && exec "$@"
            """
        var environment = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": directory.path, "TMPDIR": "/tmp", "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        ]
        // The interpreter is resolved with the caller's PATH (a pyenv shim or a venv), then run by its real path.
        let python = Self.python(limits.python)
        var command = [python.executable, "t2g_runner.py"]
        var outerEnvironment = environment
        if let bubblewrap = isolation.bubblewrap {
            environment["HOME"] = Self.sandboxDirectory
            command = Self.bubblewrapArguments(bubblewrap: bubblewrap, directory: directory.path, python: python,
                                               environment: environment) + [python.executable, "t2g_runner.py"]
            outerEnvironment = ["PATH": "/usr/bin:/bin"]
        }
        let process = try SpawnedProcess(
            arguments: ["/bin/sh", "-c", script, cgroup?.procsFile ?? "-"] + command, directory: directory.path,
            environment: outerEnvironment)
        let (status, timedOut) = await process.wait(timeout: limits.wallSeconds)
        cgroup?.killAllAndRemove()
        let stdout = (try? String(contentsOfFile: process.stdoutPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: process.stderrPath, encoding: .utf8)) ?? ""
        var code = status.exitCode
        // bubblewrap reports a child killed by signal N as exit 128 + N; give it as Python does (-N).
        if isolation.bubblewrap != nil, (129...192).contains(code) { code = -(code - 128) }
        return ExecutionResult(
            passed: code == 0 && !timedOut, exitCode: code, stdout: stdout.clippedMiddle(Self.outputLimit),
            stderr: stderr.clippedMiddle(Self.outputLimit), timedOut: timedOut)
    }

    /// The code to run: the first fenced block if the response is Markdown, else the response itself.
    public static func code(in response: String) -> String {
        guard response.contains("```") else { return response }
        let parts = response.components(separatedBy: "```")
        guard parts.count >= 3 else { return response }
        var body = Substring(parts[1])
        if let newline = body.firstIndex(of: "\n"), !body[..<newline].contains(where: { $0 == " " || $0 == "(" }) {
            body = body[body.index(after: newline)...]
        }
        return String(body)
    }

    /// The runner: sets the process limit, then runs each `test*` function and `Test*` class method.
    ///
    /// pytest costs about a second of CPU per run just to start, which on a 20,000-item run is
    /// hours; so it is used only for tests that need it (fixtures, parametrize, test functions
    /// taking arguments). Plain asserts, and `pytest.raises` as a library call, run without it.
    static func runner(processes: Int) -> String {
        """
        import os, sys, resource, traceback, inspect
        try:
            resource.setrlimit(resource.RLIMIT_NPROC, (\(processes), \(processes)))
        except (ValueError, OSError):
            pass
        sys.path.insert(0, os.getcwd())
        sys.dont_write_bytecode = True
        with open("test_solution.py", encoding="utf-8") as handle:
            source = handle.read()
        needs_pytest = "pytest.fixture" in source or "parametrize" in source or "conftest" in source
        tests = []
        if not needs_pytest:
            try:
                import test_solution as module
            except BaseException:
                traceback.print_exc()
                sys.exit(2)
            for name, value in list(vars(module).items()):
                if name.startswith("test") and inspect.isfunction(value):
                    tests.append((name, value))
                elif name.startswith("Test") and inspect.isclass(value):
                    instance = value()
                    for method in sorted(n for n in dir(value) if n.startswith("test")):
                        tests.append((name + "." + method, getattr(instance, method)))
            needs_pytest = any(inspect.signature(test).parameters for _, test in tests)
        if needs_pytest:
            try:
                import pytest
            except ImportError:
                print("these tests need pytest (fixtures or parametrize), which is not installed", file=sys.stderr)
                sys.exit(4)
            sys.exit(int(pytest.main(["-q", "-p", "no:cacheprovider", "test_solution.py"])))
        failed = 0
        for name, test in tests:
            try:
                test()
                print("PASSED", name)
            except BaseException:
                failed += 1
                print("FAILED", name)
                traceback.print_exc(file=sys.stdout)
        print(f"{len(tests) - failed} passed, {failed} failed")
        sys.exit(5 if not tests else (1 if failed else 0))
        """
    }
}

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
/// own (so a timeout kills the tests' children too) and output in files (so a chatty test can
/// neither fill a pipe and stall nor grow past the file-size limit).
final class SpawnedProcess: @unchecked Sendable {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String

    /// Starts `arguments[0]` with the given arguments in `directory`; output files live there too.
    init(arguments: [String], directory: String, environment: [String: String]) throws {
        stdoutPath = directory + "/t2g_stdout.txt"
        stderrPath = directory + "/t2g_stderr.txt"
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

    /// Waits for the exit, killing the process group after `timeout` seconds or on cancellation.
    func wait(timeout: Double) async -> (ExitStatus, timedOut: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        var killed = false
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result == -1 && errno != EINTR) { break }
            if !killed && (Date() >= deadline || Task.isCancelled) {
                kill(-pid, SIGKILL)
                killed = true
            }
            // Polling keeps this free of threads blocked in waitpid; 10 ms is far below test run times.
            // Once cancelled, Task.sleep returns at once, so a plain sleep avoids a busy loop.
            if Task.isCancelled {
                usleep(10_000)
            } else {
                try? await Task.sleep(nanoseconds: 10_000_000)
            }
        }
        // Reap stragglers the tests may have left in the group.
        kill(-pid, SIGKILL)
        return (ExitStatus(raw: status), killed && !Task.isCancelled)
    }
}

/// The sandbox itself could not be started (not a failing test: the runner).
public struct SandboxError: Error, Equatable, CustomStringConvertible {
    /// What went wrong.
    public let detail: String

    /// An error saying `detail`.
    public init(detail: String) { self.detail = detail }

    public var description: String { "sandbox: \(detail)" }
}
