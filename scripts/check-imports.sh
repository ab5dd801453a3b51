#!/usr/bin/env bash
# Checks that Package.swift says what the code does: every `import X` in Sources/<target>/ and Tests/<target>/
# names a dependency the target declares, every declared dependency is imported somewhere in the target, and no
# target imports one that sits above it in the layering.
# Needs bash and python3's standard library only (no Swift, no network); exits 1 naming file, line and import.
#
# The project's layering, lowest first. A target may import targets of lower layers only: never its own layer,
# never one above. Test targets may import any declared target; nothing but tests may import the test support.
#   0  CBLAS CKernels CMPI CZlib JSON                  C libraries, the JSON parser and writer
#   1  Common Spans                                    shared settings and files; the span vocabulary
#   2  Tensor Tokenizers                               storage and kernels; tokenizer.json, chat templates, messages
#   3  SafeTensors Chat Tasks                          model files; the chat API's vocabulary; the annotation tasks
#   4  Models GGUF                                     the Llama family; llama.cpp's files
#   5  Training Generation GGUFConversion              the loop and optimizers; sampling and scheduling; conversion
#   6  Distributed LLMClient CodeSandbox FactSummaries   MPI; the chat client; the sandbox; the built-in task
#   7  Annotation Evaluation Server                    the annotation run; metrics and judges; the HTTP API
#   8  RewardModel                                     the generative reward model
#   9  PolicyOptimization                              PPO with token-level rewards
#   10 Report Demo                                     the HTML report; the embedded pipeline
#   11 text2grad                                       the CLI, the only place that wires everything
#   12 FuzzSupport TestSupport                         test support
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$0" <<'PYTHON'
import os
import re
import sys

# Modules of the platform and the toolchain: never declared in Package.swift.
SYSTEM = {
    "Foundation", "FoundationEssentials", "FoundationNetworking", "Glibc", "Musl", "Darwin", "Dispatch",
    "Accelerate", "Synchronization", "os", "Testing", "XCTest", "_Concurrency", "Observation", "RegexBuilder",
}


def layering(script):
    """The layer of each target, read from the comment block at the top of this script."""
    layers = {}
    for line in open(script, encoding="utf-8"):
        match = re.match(r"#\s+(\d+)\s+((?:[A-Za-z0-9_]+ ?)+?)\s{2,}", line)
        if match:
            for name in match.group(2).split():
                layers[name] = int(match.group(1))
    return layers


def tokens(text):
    """Swift manifest tokens: strings, names, numbers and punctuation; comments dropped."""
    pattern = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\])*"|[A-Za-z_][A-Za-z0-9_]*|\d[\d.]*|\S', re.S)
    return [t for t in pattern.findall(text) if not t.startswith("//") and not t.startswith("/*")]


def parse(toks, i):
    """One expression from toks[i]: a call `.name(args)`, a list, a string or anything else, and the next index."""
    if toks[i] == "[":
        items, i = [], i + 1
        while toks[i] != "]":
            item, i = parse(toks, i)
            items.append(item)
            if toks[i] == ",":
                i += 1
        return items, i + 1
    if toks[i].startswith('"'):
        return toks[i][1:-1], i + 1
    if toks[i] == ".":
        i += 1
    name, i = toks[i], i + 1
    while toks[i] == ".":  # a dotted name such as .when(platforms: [.linux])
        name, i = toks[i + 1], i + 2
    if toks[i] != "(":
        return ("name", name), i
    args, i = {}, i + 1
    while toks[i] != ")":
        label = None
        if re.match(r"[A-Za-z_]\w*$", toks[i]) and toks[i + 1] == ":":
            label, i = toks[i], i + 2
        value, i = parse(toks, i)
        args.setdefault(label, value)
        if toks[i] == ",":
            i += 1
    return ("call", name, args), i + 1


def targets(manifest):
    """Each target's name, kind, directory and declared module dependencies."""
    toks = tokens(open(manifest, encoding="utf-8").read())
    start = next(i for i in range(len(toks) - 1) if toks[i] == "Package" and toks[i + 1] == "(")
    package, _ = parse(toks, start)
    items = package[2]["targets"]
    found = {}
    for item in items:
        if not (isinstance(item, tuple) and item[0] == "call"):
            continue
        _, kind, args = item
        name = args.get("name")
        declared = set()
        for dep in args.get("dependencies", []):
            if isinstance(dep, str):
                declared.add(dep)
            elif isinstance(dep, tuple) and dep[0] == "call":
                declared.add(dep[2].get("name"))
        default = "Tests" if kind == "testTarget" else "Sources"
        found[name] = {"kind": kind, "path": args.get("path", f"{default}/{name}"), "declared": declared}
    return found


IMPORT = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*import\s+"
                    r"(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_]\w*)")


def imports(path):
    """(line number, module) of each import in a Swift file, skipping multi-line string literals."""
    found, in_string = [], False
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        if line.count('"""') % 2 == 1:
            in_string = not in_string
            continue
        if in_string:
            continue
        match = IMPORT.match(line)
        if match:
            found.append((number, match.group(1)))
    return found


def main():
    layers = layering(sys.argv[1])
    all_targets = targets("Package.swift")
    problems = []
    for name in all_targets:
        if name not in layers and all_targets[name]["kind"] != "testTarget":
            problems.append(f"Package.swift: target {name} has no layer in scripts/check-imports.sh")
    for name, target in sorted(all_targets.items()):
        root = target["path"]
        if not os.path.isdir(root):
            continue
        used = set()
        for directory, _, files in os.walk(root):
            for file in sorted(f for f in files if f.endswith(".swift")):
                path = os.path.join(directory, file)
                for number, module in imports(path):
                    used.add(module)
                    if module in SYSTEM or module == name:
                        continue
                    where = f"{path}:{number}: import {module}"
                    if module not in target["declared"]:
                        problems.append(f"{where}: not declared in {name}'s dependencies in Package.swift")
                    elif target["kind"] != "testTarget" and module in layers and name in layers:
                        if layers[module] >= layers[name]:
                            problems.append(f"{where}: {module} (layer {layers[module]}) is not below "
                                            f"{name} (layer {layers[name]})")
        for module in sorted(target["declared"] - used):
            problems.append(f"Package.swift: {name} declares {module} but no file in {root} imports it")
    for problem in problems:
        print(problem)
    if problems:
        print(f"check-imports: {len(problems)} problem(s)")
        return 1
    print(f"check-imports: {len(all_targets)} targets, every import declared and pointing down")
    return 0


sys.exit(main())
PYTHON
