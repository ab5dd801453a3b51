import Foundation
@testable import Spans
import Testing

@testable import CodeSandbox

#if canImport(Glibc)
    import Glibc
#endif

/// Hostile code under `annotate --task code` (issue 15): each escape the outside tester found, asserted stopped.
@Suite("Sandbox escapes", .serialized)
struct SandboxEscapeTests {
    static let isolation = SandboxIsolation.current
    /// A test that runs everything it asked for (so a missing isolation shows as a failure, not a pass).
    let tests = "from solution import probe\n\ndef test_probe():\n    probe()\n"

    func run(_ body: String, limits: SandboxLimits = SandboxLimits()) async throws -> ExecutionResult {
        let code = "import os, sys, signal, socket, subprocess, time\n\ndef probe():\n"
            + body.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n") + "\n"
        return try await Sandbox(limits: limits).run(code: code, tests: tests)
    }

    /// A process outside the sandbox holding a fake key in its environment and command line.
    func canary(_ secret: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "sleep 60", secret]
        process.environment = ["PATH": "/usr/bin:/bin", "OPENAI_API_KEY": secret]
        try process.run()
        return process
    }

    @Test("on this project's machines (root on Linux) every isolation is available")
    func isolationIsAvailable() {
        #if os(Linux)
            guard getuid() == 0 else { return }
            #expect(Self.isolation.pidNamespace, "\(Self.isolation)")
            #expect(Self.isolation.processLimit, "\(Self.isolation)")
            #expect(Self.isolation.diskCap, "\(Self.isolation)")
        #endif
    }

    @Test("tested code sees no other process's environment or command line", .enabled(if: isolation.pidNamespace))
    func noParentEnvironment() async throws {
        let secret = "sk-test-\(UUID().uuidString)"
        let other = try canary(secret)
        defer { other.terminate() }
        let result = try await run("""
            found = [k for k in os.environ if 'KEY' in k]
            for pid in [p for p in os.listdir('/proc') if p.isdigit()] + [str(os.getppid())]:
                for name in ('environ', 'cmdline'):
                    try:
                        found.append(open(f'/proc/{pid}/{name}', 'rb').read().decode('latin-1'))
                    except OSError:
                        pass
            print('SEEN', ' '.join(found))
            """)
        #expect(result.passed, "\(result.stderr)")
        #expect(!(result.stdout + result.stderr).contains(secret), "the key leaked into the test output")
        #expect(!(result.stdout + result.stderr).contains("OPENAI_API_KEY"))
    }

    @Test("tested code cannot signal processes outside the sandbox", .enabled(if: isolation.pidNamespace))
    func cannotSignalOutside() async throws {
        let other = try canary("sk-canary")
        defer { other.terminate() }
        let result = try await run("""
            try:
                os.kill(\(other.processIdentifier), signal.SIGKILL)
                print('KILLED')
            except ProcessLookupError:
                print('NO SUCH PROCESS')
            """)
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(other.isRunning, "the sandbox killed a process outside it: \(result.stdout)")
        #expect(result.stdout.contains("NO SUCH PROCESS"))
    }

    /// Processes on the machine whose command line contains `marker`.
    func processes(containing marker: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { $0.allSatisfy(\.isNumber) }.compactMap { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            return String(decoding: data, as: UTF8.self).contains(marker) ? pid : nil
        }
    }

    @Test("setsid children and double-forked daemons do not outlive the run", .enabled(if: isolation.pidNamespace))
    func nothingOutlivesTheRun() async throws {
        let marker = "t2g-daemon-\(UUID().uuidString)"
        let result = try await run("""
            sleeper = [sys.executable, '-c', 'import time; time.sleep(120)', '\(marker)']
            subprocess.Popen(sleeper, start_new_session=True)
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv(sys.executable, sleeper)
                os._exit(0)
            time.sleep(0.3)
            print('STARTED')
            """)
        #expect(result.stdout.contains("STARTED"), "\(result.stderr)")
        try await Task.sleep(nanoseconds: 300_000_000)
        let survivors = processes(containing: marker)
        for pid in survivors { kill(pid_t(pid)!, SIGKILL) }
        #expect(survivors.isEmpty, "\(survivors.count) processes outlived the sandbox")
    }

    @Test("tested code has no network, not even to this machine", .enabled(if: isolation.networkNamespace))
    func noNetwork() async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        listen(listener, 4)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let result = try await run("""
            try:
                socket.create_connection(('127.0.0.1', \(port)), timeout=2)
                print('CONNECTED')
            except OSError as e:
                print('NO NETWORK', e)
            """)
        #expect(result.stdout.contains("NO NETWORK"), "\(result.stdout) \(result.stderr)")
    }

    @Test("tested code writes only its own directory and /tmp, and sees no other files", .enabled(if: isolation.privateFilesystem))
    func privateFilesystem() async throws {
        let secretDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: secretDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: secretDirectory) }
        let secretFile = secretDirectory.appendingPathComponent("key.txt").path
        try "sk-file-secret".write(toFile: secretFile, atomically: true, encoding: .utf8)
        let project = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
        let result = try await run("""
            for path in ['\(secretFile)', '\(project)', '/root/.bashrc', '/etc/shadow']:
                print('VISIBLE' if os.path.exists(path) else 'HIDDEN', path)
            for path in ['/usr/t2g-probe', '/etc/t2g-probe']:
                try:
                    open(path, 'w').write('x')
                    print('WROTE', path)
                except OSError:
                    print('READ-ONLY', path)
            open('here.txt', 'w').write('ok')
            open('/tmp/t.txt', 'w').write('ok')
            print('LOCAL WRITES OK')
            """)
        #expect(result.stdout.contains("LOCAL WRITES OK"), "\(result.stderr)")
        #expect(!result.stdout.contains("VISIBLE"), "\(result.stdout)")
        #expect(!result.stdout.contains("WROTE"), "\(result.stdout)")
        #expect(!FileManager.default.fileExists(atPath: "/usr/t2g-probe"))
        #expect(!FileManager.default.fileExists(atPath: "/etc/t2g-probe"))
    }

    @Test("a fork bomb stops at the process limit, also for root", .enabled(if: isolation.processLimit))
    func processLimit() async throws {
        var limits = SandboxLimits()
        limits.processes = 16
        let result = try await run("""
            started = 0
            for _ in range(60):
                try:
                    if os.fork() == 0:
                        time.sleep(30)
                        os._exit(0)
                    started += 1
                except OSError:
                    break
            print('STARTED', started)
            """, limits: limits)
        let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("STARTED") }
        let started = line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? -1
        #expect(started >= 0 && started < 16, "\(result.stdout) \(result.stderr)")
    }

    @Test("a pass cannot be forged: reading every file, printing it, writing guesses to every descriptor, exit 0")
    func forgedPass() async throws {
        // The attack of issue 24 and its variants: whatever marks the end of the tests, find it and print it.
        let forger = """
            import os
            for name in os.listdir('.'):
                text = open(name, encoding='utf-8', errors='replace').read()
                print(text, flush=True)
                for fd in range(3, 16):
                    try:
                        os.write(fd, text.encode())
                    except OSError:
                        pass
            for fd in range(3, 16):
                try:
                    print('READ', fd, os.read(fd, 4096))
                except OSError:
                    pass
            os._exit(0)
            """
        let viaTests = try await Sandbox().run(code: forger, tests: tests)
        #expect(viaTests.exitCode == 0 && !viaTests.passed, "\(viaTests.stdout)")
        #expect(viaTests.stdout.contains("def test_probe"), "the forger read its directory: \(viaTests.stdout)")
        let viaProgram = try await Sandbox().run(program: forger + "\nassert False\n")
        #expect(viaProgram.exitCode == 0 && !viaProgram.passed, "\(viaProgram.stdout)")
        // The same harness passes an honest run.
        let honest = try await Sandbox().run(code: "def probe():\n    pass\n", tests: tests)
        #expect(honest.passed, "\(honest.stdout)\(honest.stderr)")
    }

    /// The bytes under `directory`, counted while a run goes on.
    func bytes(under directory: URL) -> Int {
        let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.fileSizeKey])
        var total = 0
        while let url = walker?.nextObject() as? URL {
            total += (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize ?? 0) ?? 0
        }
        return total
    }

    @Test("writing 24 files of 15 MB into the run directory and /tmp stops at the cap, off the host's disk",
          .enabled(if: isolation.diskCap))
    func diskCap() async throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-runs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: parent) }
        var limits = SandboxLimits()
        limits.diskMB = 32
        let code = """
            import os, errno

            def probe():
                for place in ('.', '/tmp'):
                    written, error = 0, None
                    for i in range(24):
                        try:
                            with open(os.path.join(place, f'big{i}.bin'), 'wb') as handle:
                                for _ in range(15):
                                    handle.write(b'x' * (1 << 20))
                                    handle.flush()
                                    written += 1 << 20
                        except OSError as e:
                            error = errno.errorcode.get(e.errno)
                            break
                    stats = os.statvfs(place)
                    print('PLACE', place, 'WROTE', written, 'ERROR', error, 'SIZE', stats.f_blocks * stats.f_frsize)
                raise AssertionError('a writer like this one must fail')
            """
        // The host side of the run directory is watched while the run goes on.
        let watcher = Task { () -> Int in
            var largest = 0
            while !Task.isCancelled {
                largest = max(largest, bytes(under: parent))
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
            return largest
        }
        let result = try await Sandbox(limits: limits, parentDirectory: parent).run(code: code, tests: tests)
        watcher.cancel()
        let hostBytes = await watcher.value
        #expect(!result.passed)
        let lines = result.stdout.split(separator: "\n").filter { $0.hasPrefix("PLACE") }
        #expect(lines.count == 2, "\(result.stdout)\(result.stderr)")
        for line in lines {
            let words = line.split(separator: " ")
            let written = Int(words[3]) ?? -1
            #expect(written >= 0 && written <= 32 << 20, "\(line)")
            #expect(words[5] == "ENOSPC", "\(line)")
            #expect(Int(words[7]) == 32 << 20, "\(line)")
        }
        #expect(hostBytes < 1 << 20, "the run directory on the host grew to \(hostBytes) bytes")
    }

    @Test("tested code gets the default signal mask, whatever the caller blocked")
    func signalMaskIsReset() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-sigmask-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let python = Sandbox.python("python3").executable
        let script = "import signal, time, sys\nsignal.signal(signal.SIGALRM, lambda *a: (print('ALARM'), sys.exit(0)))\n"
            + "print('BLOCKED', sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))\nsignal.alarm(1)\ntime.sleep(4)\nprint('NO ALARM')\n"
        try script.write(to: directory.appendingPathComponent("alarm.py"), atomically: true, encoding: .utf8)
        // The spawning thread blocks SIGALRM and SIGTERM, as a server's or test runner's threads may.
        let outcome = try Thread.runBlocking { () -> (Int32, String) in
            var blocked = sigset_t()
            sigemptyset(&blocked)
            sigaddset(&blocked, SIGALRM)
            sigaddset(&blocked, SIGTERM)
            var previous = sigset_t()
            pthread_sigmask(SIG_BLOCK, &blocked, &previous)
            defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
            let process = try SpawnedProcess(arguments: [python, directory.path + "/alarm.py"], directory: directory.path, environment: ["PATH": "/usr/bin:/bin"])
            var status: Int32 = 0
            while waitpid(process.pid, &status, 0) == -1 && errno == EINTR {}
            return (ExitStatus(raw: status).exitCode, (try? String(contentsOfFile: process.stdoutPath, encoding: .utf8)) ?? "")
        }
        #expect(outcome.1.contains("BLOCKED []"), "\(outcome.1)")
        #expect(outcome.1.contains("ALARM") && !outcome.1.contains("NO ALARM"), "\(outcome.1)")
        #expect(outcome.0 == 0)
    }
}

extension Thread {
    /// Runs `work` on a new thread and waits for it: for tests that need a thread's signal mask to themselves.
    static func runBlocking<T>(_ work: @escaping @Sendable () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        // nonisolated(unsafe): written by the thread before it signals, read after the wait.
        nonisolated(unsafe) var result: Result<T, Error>?
        let thread = Thread {
            result = Result { try work() }
            done.signal()
        }
        thread.start()
        done.wait()
        return try result!.get()
    }
}
