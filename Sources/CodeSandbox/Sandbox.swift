import Common
import Foundation
import Spans

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
    /// What the run directory and /tmp may each hold, in MiB (tmpfs `size=`, where bubblewrap allows it).
    public var diskMB: Int = 64
    /// Process limit (RLIMIT_NPROC, set by the runner; the kernel does not apply it to root).
    public var processes: Int = 64
    /// The Python interpreter to run.
    public var python: String = "python3"

    /// The defaults above.
    public init() {}

    /// Ranges, for `annotate --task code` and `eval code` alike; throws naming the key.
    public func validate(_ fail: (String) -> Error) throws {
        if !(wallSeconds > 0 && wallSeconds <= 3600) { throw fail("'wall_seconds' must be within (0, 3600]") }
        if !(1...3600).contains(cpuSeconds) { throw fail("'cpu_seconds' must be within 1...3600") }
        let mib = 1 << 20
        if !(16...mib).contains(memoryMB) { throw fail("'memory_mb' must be within 16...\(mib) (1 TiB)") }
        for (key, value) in [("file_size_mb", fileSizeMB), ("disk_mb", diskMB)] where !(1...mib).contains(value) {
            throw fail("'\(key)' must be within 1...\(mib) (1 TiB)")
        }
        if processes < 1 { throw fail("'processes' must be ≥ 1") }
        if python.isEmpty { throw fail("'python' is empty") }
    }

    enum CodingKeys: String, CodingKey {
        case wallSeconds = "wall_seconds"
        case cpuSeconds = "cpu_seconds"
        case memoryMB = "memory_mb"
        case fileSizeMB = "file_size_mb"
        case diskMB = "disk_mb"
        case processes, python
    }

    /// Every field that is present; the defaults above for the rest.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        wallSeconds = try container.decodeIfPresent(Double.self, forKey: .wallSeconds) ?? wallSeconds
        cpuSeconds = try container.decodeIfPresent(Int.self, forKey: .cpuSeconds) ?? cpuSeconds
        memoryMB = try container.decodeIfPresent(Int.self, forKey: .memoryMB) ?? memoryMB
        fileSizeMB = try container.decodeIfPresent(Int.self, forKey: .fileSizeMB) ?? fileSizeMB
        diskMB = try container.decodeIfPresent(Int.self, forKey: .diskMB) ?? diskMB
        processes = try container.decodeIfPresent(Int.self, forKey: .processes) ?? processes
        python = try container.decodeIfPresent(String.self, forKey: .python) ?? python
    }
}

/// Runs Python code against unit tests in a fresh temporary directory, under resource limits.
///
/// Isolation, in order (see `SandboxIsolation` for what the machine allows and what is reported):
/// 1. a new directory per run, holding only what the parent writes, removed before `run` returns;
/// 2. an empty, explicit environment (a fixed PATH, HOME, locale: never the parent's variables or API keys),
///    and nothing secret on any command line;
/// 3. with bubblewrap: new PID, network, mount, IPC, UTS and user namespaces, all capabilities dropped; the
///    code sees a private working directory holding read-only copies of its files, a private /tmp (both tmpfs
///    capped at `diskMB`) and the system directories read-only, nothing else;
/// 4. a pids cgroup capping the process count (for root too), killed whole and emptied before `run` returns, so
///    `setsid` children and double-forked daemons die with the run;
/// 5. CPU, memory and file-size limits via `ulimit`; the default signal mask and dispositions;
/// 6. a process group of its own, killed whole at the wall-clock limit;
/// 7. a pass proved with a per-run secret the tested code never sees (see `SandboxHarness`).
public struct Sandbox: Sendable {
    /// Characters of stdout / stderr kept in the record.
    public static let outputLimit = 8000
    /// The limits applied to every run.
    public var limits: SandboxLimits
    /// Where run directories are made: the system's temporary directory, or a test's own.
    let parentDirectory: URL

    /// Creates a sandbox.
    public init(limits: SandboxLimits = SandboxLimits()) {
        self.init(limits: limits, parentDirectory: FileManager.default.temporaryDirectory)
    }

    init(limits: SandboxLimits, parentDirectory: URL) {
        self.limits = limits
        self.parentDirectory = parentDirectory
    }

    /// Runs `code` as `solution.py` against `tests` as `test_solution.py`: each `test*` function and `Test*` class
    /// method of the tests. Throws only if nothing could be started.
    public func run(code: String, tests: String) async throws -> ExecutionResult {
        try await run(files: ["solution.py": code, "test_solution.py": tests], mode: .tests)
    }

    /// Runs `program` as one script, `exec`uted in fresh globals as HumanEval's and MBPP's own harnesses run their
    /// check programs; it passes when it runs to its end without raising. Throws only if nothing could be started.
    public func run(program: String) async throws -> ExecutionResult {
        try await run(files: ["program.py": program], mode: .program)
    }

    /// The run's phases: prepare the directory → start the harness → wait → end every process → collect.
    private func run(files: [String: String], mode: SandboxHarness.Mode) async throws -> ExecutionResult {
        let directory = try prepare(files: files)
        // Registered first, so it runs last: after every process of the run is gone.
        defer { Self.remove(directory) }
        let isolation = SandboxIsolation.current
        let cgroup = isolation.cgroupRoot.flatMap { SandboxCgroup(root: $0, processes: limits.processes) }
        defer { cgroup?.killAllAndRemove() }
        let secret = Self.freshSecret()
        let process = try start(
            mode: mode, inputs: Array(files.keys) + [SandboxHarness.fileName], in: directory, isolation: isolation,
            cgroup: cgroup, secret: secret)
        let (status, timedOut) = await process.wait(timeout: limits.wallSeconds)
        cgroup?.killAllAndRemove()
        return collect(process, status: status, timedOut: timedOut, secret: secret, isolation: isolation)
    }

    /// A new run directory holding `files` and the harness.
    private func prepare(files: [String: String]) throws -> URL {
        let directory = parentDirectory.appendingPathComponent("text2grad-sandbox-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
            for (name, text) in files { try Data(text.utf8).write(to: directory.appendingPathComponent(name)) }
            try Data(SandboxHarness.source(processes: limits.processes).utf8)
                .write(to: directory.appendingPathComponent(SandboxHarness.fileName))
        } catch {
            Self.remove(directory)
            throw SandboxError(detail: "cannot prepare \(directory.path): \(error.localizedDescription)")
        }
        return directory
    }

    /// Starts the harness under the limits: a shell joins the cgroup ($0, "-" for none) and sets the limits, then
    /// execs bubblewrap (when there is one) or the interpreter. The secret goes in on a pipe, not a file.
    private func start(
        mode: SandboxHarness.Mode, inputs: [String], in directory: URL, isolation: SandboxIsolation,
        cgroup: SandboxCgroup?, secret: [UInt8]
    ) throws -> SpawnedProcess {
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
        let harness = [python.executable, SandboxHarness.fileName, mode.rawValue]
        var command = harness
        var outerEnvironment = environment
        if let bubblewrap = isolation.bubblewrap {
            environment["HOME"] = Self.sandboxDirectory
            command = Self.bubblewrapArguments(
                bubblewrap: bubblewrap, directory: directory.path, inputs: inputs, python: python,
                environment: environment, diskBytes: isolation.tmpfsSize ? limits.diskMB << 20 : nil) + harness
            outerEnvironment = ["PATH": "/usr/bin:/bin"]
        }
        return try SpawnedProcess(
            arguments: ["/bin/sh", "-c", script, cgroup?.procsFile ?? "-"] + command, directory: directory.path,
            environment: outerEnvironment, secret: secret)
    }

    /// The result: passed only with exit status 0, in time, and the secret written back by the harness.
    private func collect(
        _ process: SpawnedProcess, status: ExitStatus, timedOut: Bool, secret: [UInt8], isolation: SandboxIsolation
    ) -> ExecutionResult {
        let stdout = (try? String(contentsOfFile: process.stdoutPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: process.stderrPath, encoding: .utf8)) ?? ""
        let proof = FileManager.default.contents(atPath: process.proofPath).map { [UInt8]($0) }
        var code = status.exitCode
        // bubblewrap reports a child killed by signal N as exit 128 + N; give it as Python does (-N).
        if isolation.bubblewrap != nil, (129...192).contains(code) { code = -(code - 128) }
        return ExecutionResult(
            passed: code == 0 && !timedOut && proof == secret, exitCode: code,
            stdout: stdout.clippedMiddle(Self.outputLimit), stderr: stderr.clippedMiddle(Self.outputLimit),
            timedOut: timedOut)
    }

    /// 32 random hex digits from the system's generator.
    static func freshSecret() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let words = [generator.next(), generator.next()] as [UInt64]
        return Array(words.map { String($0, radix: 16).leftPadded(to: 16) }.joined().utf8)
    }

    /// Removes a run directory, trying again while something still writes into it (a straggler of a run without
    /// bubblewrap and cgroup); with them, nothing of the run can write there once its processes are gone.
    static func remove(_ directory: URL) {
        for _ in 0..<100 {
            if (try? FileManager.default.removeItem(at: directory)) != nil { return }
            if !FileManager.default.fileExists(atPath: directory.path) { return }
            usleep(10_000)
        }
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
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: Swift.max(0, width - count)) + self
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
