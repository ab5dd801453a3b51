import Foundation
import Testing

@testable import CodeSandbox

@Suite("Sandboxed test runs")
struct SandboxTests {
    let tests = """
        from solution import add

        def test_small():
            assert add(1, 2) == 3

        def test_negative():
            assert add(-1, -1) == -2
        """

    /// The start-up report names each isolation and whether it is on; what is off says how to get it.
    @Test func isolationReportNamesWhatIsOn() {
        let full = SandboxIsolation(bubblewrap: "/usr/bin/bwrap", cgroupRoot: "/sys/fs/cgroup", tmpfsSize: true)
        #expect(full.description == "sandbox: pid namespace yes, network namespace yes, private filesystem yes, "
            + "disk cap yes, process limit cgroup")
        #expect(full.isComplete)
        let bare = SandboxIsolation(bubblewrap: nil, cgroupRoot: nil)
        #expect(bare.description.hasPrefix("sandbox: pid namespace NO, network namespace NO, private filesystem NO, "
            + "disk cap NO, process limit RLIMIT_NPROC only"))
        #expect(bare.description.contains("install bubblewrap"))
        #expect(!bare.isComplete)
        let noCgroup = SandboxIsolation(bubblewrap: "/usr/bin/bwrap", cgroupRoot: nil, tmpfsSize: true)
        #expect(noCgroup.description.contains("pid namespace yes, network namespace yes")
            && noCgroup.description.hasSuffix("process limit RLIMIT_NPROC only"))
        #expect(!noCgroup.isComplete)
        let oldBubblewrap = SandboxIsolation(bubblewrap: "/usr/bin/bwrap", cgroupRoot: "/sys/fs/cgroup")
        #expect(oldBubblewrap.description.contains("disk cap NO") && oldBubblewrap.description.contains("0.8"))
        #expect(!oldBubblewrap.isComplete)
    }

    @Test func passingSolutionPasses() async throws {
        let result = try await Sandbox().run(code: "def add(a, b):\n    return a + b\n", tests: tests)
        #expect(result.passed)
        #expect(result.exitCode == 0)
        #expect(!result.timedOut)
    }

    @Test func failingSolutionReportsExitCodeAndOutput() async throws {
        let result = try await Sandbox().run(code: "def add(a, b):\n    return a - b\n", tests: tests)
        #expect(!result.passed)
        #expect(result.exitCode == 1)
        #expect((result.stdout + result.stderr).contains("test_small"))
    }

    @Test func importErrorIsAFailureNotACrash() async throws {
        let result = try await Sandbox().run(code: "def add(a, b) return a\n", tests: tests)
        #expect(!result.passed)
        #expect(result.exitCode != 0)
        #expect((result.stdout + result.stderr).contains("SyntaxError"))
    }

    @Test func infiniteLoopIsKilledAtTheWallClockLimit() async throws {
        var limits = SandboxLimits()
        limits.wallSeconds = 1.5
        limits.cpuSeconds = 30
        let started = Date()
        let result = try await Sandbox(limits: limits).run(
            code: "import time\ndef add(a, b):\n    while True:\n        time.sleep(0.05)\n", tests: tests)
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.timedOut)
        #expect(!result.passed)
        #expect(result.exitCode == -9)
        // The kill proves the limit; the bound is loose because a parallel test run can keep both cooperative
        // threads busy with CPU-heavy tests and delay the 10 ms polls (a sandbox that never kills fails it).
        #expect(elapsed < 30)
    }

    @Test func busyLoopHitsTheCPULimit() async throws {
        var limits = SandboxLimits()
        limits.cpuSeconds = 1
        limits.wallSeconds = 20
        let result = try await Sandbox(limits: limits).run(
            code: "def add(a, b):\n    while True:\n        pass\n", tests: tests)
        #expect(!result.passed)
        #expect(!result.timedOut)
        // SIGXCPU (24) or SIGKILL (9) ends the interpreter once its CPU second is used up.
        #expect(result.exitCode == -24 || result.exitCode == -9)
    }

    @Test func memoryAndFileSizeLimitsApply() async throws {
        var limits = SandboxLimits()
        limits.memoryMB = 256
        limits.fileSizeMB = 1
        let hog = try await Sandbox(limits: limits).run(
            code: "def add(a, b):\n    x = bytearray(1024 * 1024 * 1024)\n    return a + b\n", tests: tests)
        #expect(!hog.passed)
        #expect((hog.stdout + hog.stderr).contains("MemoryError"))
        let writer = try await Sandbox(limits: limits).run(
            code: "def add(a, b):\n    open('big.bin', 'wb').write(b'x' * 4 * 1024 * 1024)\n    return a + b\n",
            tests: tests)
        #expect(!writer.passed)
    }

    @Test func limitsAndEnvironmentAsSeenFromInside() async throws {
        var limits = SandboxLimits()
        limits.cpuSeconds = 7
        limits.memoryMB = 512
        limits.fileSizeMB = 2
        limits.processes = 33
        let probe = """
            import os, resource
            def test_limits():
                assert resource.getrlimit(resource.RLIMIT_CPU)[0] == 7
                assert resource.getrlimit(resource.RLIMIT_AS)[0] == 512 * 1024 * 1024
                assert resource.getrlimit(resource.RLIMIT_FSIZE)[0] == 2 * 1024 * 1024
                assert resource.getrlimit(resource.RLIMIT_NPROC)[0] == 33
                # Only the sandbox's own variables (and what sh adds itself): nothing from the parent,
                # so no API key can leak in, whatever the test process's environment holds.
                allowed = {"PATH", "HOME", "TMPDIR", "LANG", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "PWD", "OLDPWD",
                           "SHLVL", "LC_CTYPE", "_"}
                # pyenv's python3 shim sets its own PYENV_* variables on the way in.
                extra = {k for k in os.environ if k not in allowed and not k.lstrip("_").startswith("PYENV")}
                assert not extra, sorted(extra)
                assert os.getcwd() == os.environ["HOME"]
                assert os.listdir(".") != []
            """
        let result = try await Sandbox(limits: limits).run(code: "", tests: probe)
        #expect(result.passed, "\(result.stdout)\n\(result.stderr)")
    }

    @Test func eachRunGetsAFreshDirectoryThatIsRemoved() async throws {
        // Run directories go under a directory of this test's own, so runs of other tests going on at the same time
        // (the whole suite runs in parallel) cannot look like leftovers of these.
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("t2g-runs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: parent) }
        let sandbox = Sandbox(limits: SandboxLimits(), parentDirectory: parent)
        // The test fails on purpose after writing a file, and a child it started in a new session keeps writing
        // into the directory: all of it must be gone, with the child, when `run` returns.
        let probe = """
            import os, subprocess, sys
            def test_fresh():
                assert not os.path.exists("leftover.txt")
                open("leftover.txt", "w").write("x")
                subprocess.Popen([sys.executable, "-c", "import time\\nwhile True:\\n    open('more.txt', 'a').write('x')\\n    time.sleep(0.001)"],
                                 start_new_session=True)
                assert False, "wrote leftover.txt"
            """
        for _ in 0..<3 {
            let result = try await sandbox.run(code: "", tests: probe)
            #expect((result.stdout + result.stderr).contains("wrote leftover.txt"), "\(result.stdout)\(result.stderr)")
            let left = try FileManager.default.contentsOfDirectory(atPath: parent.path)
            #expect(left.isEmpty, "left behind: \(left)")
        }
    }

    @Test("a program runs as one script: it passes by running to its end, not by exiting 0")
    func programs() async throws {
        let sandbox = Sandbox()
        let fine = try await sandbox.run(program: "def test_twice(x):\n    return 2 * x\n\nassert test_twice(2) == 4\n")
        #expect(fine.passed, "\(fine.stdout)\(fine.stderr)")
        let failing = try await sandbox.run(program: "assert 1 == 2, 'one is not two'\n")
        #expect(!failing.passed && failing.exitCode == 1 && failing.stderr.contains("one is not two"))
        let exiting = try await sandbox.run(program: "raise SystemExit(0)\nassert False\n")
        #expect(!exiting.passed && exiting.exitCode == 1)
        let leaving = try await sandbox.run(program: "import os\nos._exit(0)\nassert False\n")
        #expect(!leaving.passed && leaving.exitCode == 0)
    }

    @Test func codeIsTakenFromAMarkdownFence() {
        #expect(Sandbox.code(in: "Here:\n```python\ndef f():\n    return 1\n```\nDone.") == "def f():\n    return 1\n")
        #expect(Sandbox.code(in: "def f():\n    return 1\n") == "def f():\n    return 1\n")
    }
}

@Suite("Sandbox runner choice")
struct SandboxRunnerTests {
    @Test func parametrizedTestsRunUnderPytest() async throws {
        let tests = """
            import pytest
            from solution import double

            @pytest.mark.parametrize("value, expected", [(1, 2), (2, 4), (3, 7)])
            def test_double(value, expected):
                assert double(value) == expected
            """
        let result = try await Sandbox().run(code: "def double(x):\n    return 2 * x\n", tests: tests)
        #expect(!result.passed)
        #expect(result.exitCode == 1)
        #expect(result.stdout.contains("1 failed, 2 passed"))
    }

    @Test func classTestsAndPytestRaisesRunWithoutPytestsCollector() async throws {
        let tests = """
            import pytest
            from solution import parse

            class TestParse:
                def test_number(self):
                    assert parse("3") == 3

                def test_rejects(self):
                    with pytest.raises(ValueError):
                        parse("x")
            """
        let result = try await Sandbox().run(code: "def parse(text):\n    return int(text)\n", tests: tests)
        #expect(result.passed, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("PASSED TestParse.test_rejects"))
    }
}

@Suite("Sandbox overhead", .serialized)
struct SandboxOverheadTests {
    /// Seconds of wall clock `body` takes, best of `count` runs, and the mean.
    func timed(_ count: Int, _ body: () async throws -> Void) async rethrows -> (best: Double, mean: Double) {
        var times: [Double] = []
        for _ in 0..<count {
            let started = Date()
            try await body()
            times.append(Date().timeIntervalSince(started))
        }
        return (times.min()!, times.reduce(0, +) / Double(times.count))
    }

    @Test("a trivial sample costs about what starting python3 costs")
    func trivialSampleOverhead() async throws {
        let python = Sandbox.python("python3").executable
        let bare = try await timed(5) {
            let status = SandboxIsolation.runQuietly([python, "-c", "pass"])
            #expect(status == 0)
        }
        let sandbox = Sandbox()
        let sample = try await timed(5) {
            let result = try await sandbox.run(program: "pass\n")
            #expect(result.passed)
        }
        print("sandbox overhead: python3 -c pass best \(bare.best) s mean \(bare.mean) s; "
            + "trivial sample best \(sample.best) s mean \(sample.mean) s")
        // The double cgroup removal cost a second per sample; a loaded machine may double python's start-up.
        #expect(sample.best < bare.best + 0.5, "a trivial sample takes \(sample.best) s")
    }
}
