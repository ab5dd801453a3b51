/// The Python program that runs inside the sandbox and proves the tests ran to their end.
///
/// The proof is a per-run secret: the parent writes it into a pipe the harness gets as file descriptor 3, and the
/// harness reads it and closes that descriptor before any tested code is imported; only when every test has passed
/// does it write the secret to descriptor 4, which the parent reads after the run. The secret is in no file and on
/// no command line, so code that reads its directory, prints what a test would print and exits 0 does not pass.
/// (Code that digs through its own interpreter's memory could find it, as it could rewrite the assertions: the
/// proof stops early exits and copied markers, not a program built to defeat the harness from within.)
enum SandboxHarness {
    /// What the harness runs.
    enum Mode: String {
        /// `test_solution.py` against `solution.py`: each `test*` function and `Test*` class method.
        case tests
        /// `program.py` as one script, `exec`uted in fresh globals as HumanEval's and MBPP's harnesses do.
        case program
    }

    /// The file the harness is written to in the run directory.
    static let fileName = "t2g_harness.py"
    /// The descriptor the secret arrives on.
    static let secretDescriptor: Int32 = 3
    /// The descriptor the secret goes back out on when every test passed.
    static let proofDescriptor: Int32 = 4

    /// The harness, with the process limit it sets for itself and its children.
    ///
    /// Test modules: pytest costs about a second of CPU per run just to start, which on a 20,000-item run is
    /// hours; so it is used only for tests that need it (fixtures, parametrize, test functions taking arguments).
    /// Plain asserts, and `pytest.raises` as a library call, run without it. Programs never go through pytest.
    static func source(processes: Int) -> String {
        """
        import os, sys, resource, traceback, inspect


        def run_program():
            with open("program.py", encoding="utf-8") as handle:
                source = handle.read()
            try:
                exec(compile(source, "program.py", "exec"), {})
            except BaseException:
                traceback.print_exc()
                return 1
            return 0


        def run_tests():
            with open("test_solution.py", encoding="utf-8") as handle:
                source = handle.read()
            needs_pytest = "pytest.fixture" in source or "parametrize" in source or "conftest" in source
            tests = []
            if not needs_pytest:
                try:
                    import test_solution as module
                except BaseException:
                    traceback.print_exc()
                    return 2
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
                    return 4
                return int(pytest.main(["-q", "-p", "no:cacheprovider", "test_solution.py"]))
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
            return 5 if not tests else (1 if failed else 0)


        def main():
            secret = os.read(\(secretDescriptor), 256)
            os.close(\(secretDescriptor))
            # Nothing else the parent had open reaches the tested code.
            os.closerange(\(proofDescriptor + 1), 1 << 16)
            try:
                resource.setrlimit(resource.RLIMIT_NPROC, (\(processes), \(processes)))
            except (ValueError, OSError):
                pass
            sys.path.insert(0, os.getcwd())
            sys.dont_write_bytecode = True
            status = run_program() if sys.argv[1] == "\(Mode.program.rawValue)" else run_tests()
            sys.stdout.flush()
            if status == 0:
                os.write(\(proofDescriptor), secret)
            os._exit(status)


        main()
        """
    }
}
