// swift-tools-version: 6.1
// The layering is visible here: targets are listed lowest layer first, and each imports only targets of the layers
// below it (scripts/check-imports.sh holds the order and `make test` enforces it; docs/ARCHITECTURE.md draws it):
//   C libraries, JSON (no dependencies) → Common, Spans → Tensor, Tokenizers → SafeTensors, Chat, Tasks →
//   Models, GGUF → Training, Generation, GGUFConversion → Distributed, LLMClient, CodeSandbox, FactSummaries →
//   Annotation, Evaluation, Server → RewardModel → PolicyOptimization → Report, Demo → text2grad.
// The `text2grad` executable is the only place that wires them together; FuzzSupport and TestSupport serve tests.
import PackageDescription

let package = Package(
    name: "text2grad",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "text2grad", targets: ["text2grad"]),
        .library(name: "Text2GradEngine", targets: ["Tensor", "SafeTensors", "Models", "Tokenizers", "Training"]),
        .library(
            name: "Annotation",
            targets: ["Common", "Spans", "Tokenizers", "Chat", "Tasks", "LLMClient", "CodeSandbox", "Annotation"]
        ),
    ],
    // Off by default: `swift build --traits MPI` (or `make mpi`) adds data-parallel training over MPI.
    traits: [.trait(name: "MPI", description: "Data-parallel training across processes over MPI (libopenmpi-dev).")],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.24.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // Already in the graph through Hummingbird and AsyncHTTPClient; named so their modules can be declared.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.26.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
    ],
    targets: [
        // Layer 0: no dependencies on other targets.
        // OpenBLAS on Linux (Debian `libopenblas-dev`); Accelerate is used instead on Apple platforms.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        // The decode step's matrix–vector kernels in C (AVX2 + FMA chosen at run time, portable C otherwise),
        // fp32 and bf16.
        .target(name: "CKernels"),
        // MPI's C API through an inline shim (its handles are macros); pkg-config's `mpi-c` finds Open MPI or MPICH.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "mpi-c", providers: [.apt(["libopenmpi-dev"])]),
        // zlib (Debian `zlib1g-dev`), for gzipped task files such as HumanEval.jsonl.gz.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Strict, order-keeping JSON (duplicate keys rejected, keys compared by scalars) for headers, tokenizer
        // files and request bodies, and its writer.
        .target(name: "JSON"),

        // Layer 1.
        // What every command shares: JSONL reading and appending, data files (JSONL, a JSON list or a keyed object),
        // progress, YAML configs, settings groups.
        .target(name: "Common", dependencies: ["JSON", .product(name: "Yams", package: "Yams")]),
        // Quoted spans, labels, alignment, answer parsing, annotation records, spans → token scores: no I/O.
        .target(name: "Spans", dependencies: ["JSON"]),

        // Layer 2.
        .target(
            name: "Tensor",
            dependencies: ["CKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux]))]
        ),
        // tokenizer.json (byte-level and SentencePiece-style BPE), offsets, chat templates and chat messages.
        .target(name: "Tokenizers", dependencies: ["JSON", "Common"]),

        // Layer 3.
        .target(name: "SafeTensors", dependencies: ["JSON", "CKernels"]),
        // The chat API's vocabulary without a client: requests, replies, `ChatCompleting`, its errors, the backoff,
        // `ChatResponder` (a rule-based answerer).
        .target(name: "Chat", dependencies: ["Common", "Spans", "Tokenizers"]),
        // What the teacher is asked: the built-in and YAML-defined tasks, their items, the teacher prompts.
        .target(
            name: "Tasks",
            dependencies: ["JSON", "Common", "Spans", "Tokenizers", .product(name: "Yams", package: "Yams")]
        ),

        // Layer 4.
        .target(name: "Models", dependencies: ["Tensor", "SafeTensors", "JSON", "Common"]),
        // llama.cpp's GGUF files: the validated reader, ggml's block formats to fp32, and a writer
        // (F32/F16/BF16/Q8_0).
        .target(name: "GGUF", dependencies: ["SafeTensors"]),

        // Layer 5.
        // Optimizers, schedules, the SFT trainer and checkpoints: above Models, below the CLI.
        .target(name: "Training", dependencies: ["Tensor", "SafeTensors", "Models", "Tokenizers", "JSON", "Common"]),
        // Batched KV-cached sampling, the continuous-batching scheduler, constrained decoding.
        .target(name: "Generation", dependencies: ["Tensor", "Models", "Tokenizers", "Common"]),
        // GGUF ↔ Hugging Face model directories (config, weights with llama.cpp's q/k row order, tokenizer files).
        .target(name: "GGUFConversion", dependencies: ["GGUF", "SafeTensors", "Models", "JSON", "Common"]),

        // Layer 6.
        // Data parallelism: the launcher's ranks and the MPI gradient reducer, compiled in only with the MPI trait.
        .target(
            name: "Distributed", dependencies: ["Training", .target(name: "CMPI", condition: .when(traits: ["MPI"]))]
        ),
        // An OpenAI-compatible chat client over AsyncHTTPClient: retries, backoff, concurrency, usage.
        .target(
            name: "LLMClient",
            dependencies: [
                "Common", "Spans", "Tokenizers", "Chat",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Untrusted code under limits, timeouts and a whole-tree kill.
        .target(name: "CodeSandbox", dependencies: ["Common", "Spans"]),
        // The built-in task (posts, summaries, the metric, the rule-based teacher): Foundation only, no network.
        .target(name: "FactSummaries", dependencies: ["JSON", "Common", "Tokenizers", "Chat"]),

        // Layer 7.
        // Dual-feedback annotation: the dataset reader, the annotator, the resumable run.
        .target(
            name: "Annotation",
            dependencies: [
                "JSON", "Common", "Spans", "Tokenizers", "Chat", "Tasks", "LLMClient", "CodeSandbox",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // ROUGE, BLEU, pass@k and the LLM judge; the metrics match rouge-score and sacrebleu exactly.
        .target(
            name: "Evaluation",
            dependencies: ["JSON", "CZlib", "Common", "Spans", "Tokenizers", "Chat", "CodeSandbox"]
        ),
        // OpenAI-compatible HTTP (Hummingbird): one server over a backend, a model's scheduler or a rule-based
        // responder.
        .target(
            name: "Server",
            dependencies: [
                "Tokenizers", "Generation", "Common", "Chat", "JSON",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),

        // Layer 8.
        // The generative reward model: its prompt and target format, data from annotations, critique inference.
        .target(
            name: "RewardModel",
            dependencies: ["JSON", "Common", "Spans", "Tokenizers", "Training", "Generation", "Chat", "Tasks"]
        ),

        // Layer 9.
        // PPO with token-level rewards: the RL arithmetic as pure functions, rollouts, the PPO objective.
        .target(
            name: "PolicyOptimization",
            dependencies: [
                "JSON", "Common", "Spans", "Tensor", "Models", "Tokenizers", "Training", "Generation", "RewardModel",
            ]
        ),

        // Layer 10.
        // Any run's metrics and samples as one self-contained HTML page: curves, per-token rewards, the verdict.
        .target(
            name: "Report",
            dependencies: [
                "JSON", "Common", "PolicyOptimization", "RewardModel", .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The embedded default: the whole pipeline on the built-in task.
        .target(
            name: "Demo",
            dependencies: [
                "JSON", "Common", "Spans", "Tensor", "Tokenizers", "Models", "Training", "Generation", "Chat",
                "Annotation", "RewardModel", "PolicyOptimization", "FactSummaries",
                .product(name: "Logging", package: "swift-log"),
            ],
            // The pretrained base the demo starts from (made by scripts/make-demo-base.sh).
            resources: [.copy("Resources/demo-base")]
        ),

        // Layer 11.
        .executableTarget(
            name: "text2grad",
            dependencies: [
                "Tensor", "SafeTensors", "Models", "Tokenizers", "Training", "Common", "Spans", "Tasks", "LLMClient",
                "CodeSandbox", "Annotation", "Generation", "Server", "RewardModel", "PolicyOptimization", "Demo",
                "FactSummaries", "Evaluation", "Report", "Distributed", "GGUF", "GGUFConversion", "CKernels", "JSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Layer 12: what only tests use.
        // Seeded mutations of valid input files, shared by every reader's fuzz test (Foundation only).
        .target(name: "FuzzSupport", path: "Tests/FuzzSupport"),
        // What many test targets share: a scripted OpenAI-compatible endpoint on 127.0.0.1, a process launcher
        // with a deadline (and the built `text2grad` executable), temporary directories, a quiet logger.
        .target(
            name: "TestSupport",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "CommonTests", dependencies: ["Common", "JSON"]),
        .testTarget(name: "SpansTests", dependencies: ["Spans", "Tasks"]),
        .testTarget(
            name: "LLMClientTests",
            dependencies: ["TestSupport", "Chat", "LLMClient", "Common", "Spans", "Tokenizers"]
        ),
        .testTarget(name: "CodeSandboxTests", dependencies: ["CodeSandbox", "Spans"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(
            name: "GGUFTests",
            dependencies: [
                "GGUF", "GGUFConversion", "FuzzSupport", "TestSupport", "Models", "Tokenizers", "SafeTensors",
            ]
        ),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "SafeTensors", "Tokenizers", "JSON"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "Common"]),
        .testTarget(
            name: "TrainingTests",
            dependencies: [
                "FuzzSupport", "TestSupport", "Training", "Models", "SafeTensors", "Tensor", "Tokenizers", "Common",
            ]
        ),
        .testTarget(name: "DemoTests", dependencies: ["Demo", "PolicyOptimization", "Training", "Report"]),
        .testTarget(
            name: "RewardModelTests",
            dependencies: [
                "FuzzSupport", "TestSupport", "RewardModel", "Spans", "Tokenizers", "Common", "Generation", "Models",
                "JSON",
            ]
        ),
        .testTarget(
            name: "PolicyOptimizationTests",
            dependencies: [
                "FuzzSupport", "TestSupport", "PolicyOptimization", "RewardModel", "Spans", "Common", "Tokenizers",
                "Models", "SafeTensors", "Training",
            ]
        ),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Common", "JSON"]),
        // Every subcommand's flags against its typed configuration, through the real parser.
        .testTarget(
            name: "CLITests",
            dependencies: ["text2grad", "Common", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "DistributedTests", dependencies: ["TestSupport", "Distributed", "SafeTensors", "Training"]),
        .testTarget(
            name: "GenerationTests",
            dependencies: ["Generation", "Models", "Tokenizers", "Tensor", "Common", "SafeTensors"]
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "TestSupport", "Server", "Generation", "Models", "Tokenizers", "Common", "Tasks",
                "Annotation", "FactSummaries", "JSON",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FactSummariesTests",
            dependencies: ["FuzzSupport", "FactSummaries", "Spans", "Tasks", "Annotation", "Tokenizers", "Common"]
        ),
        .testTarget(
            name: "EvaluationTests",
            dependencies: ["FuzzSupport", "TestSupport", "Evaluation", "JSON", "Common", "LLMClient", "CodeSandbox"]
        ),
        .testTarget(
            name: "AnnotationTests",
            dependencies: [
                "FuzzSupport", "TestSupport", "Common", "Spans", "Chat", "Tasks", "LLMClient", "CodeSandbox",
                "Annotation",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
