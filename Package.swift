// swift-tools-version: 6.1
// The layering is visible here: each target imports only targets listed before it (docs/ARCHITECTURE.md).
// Tensor → SafeTensors → Models → Training / Generation → Server; Common, Tokenizers, LLMClient, Sandbox and
// Annotation stand beside the model stack; the `text2grad` executable is the only place that wires them together.
import PackageDescription

let package = Package(
    name: "text2grad",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "text2grad", targets: ["text2grad"]),
        .library(name: "Text2GradEngine", targets: ["Tensor", "SafeTensors", "Models", "Tokenizers", "Training"]),
        .library(name: "Annotation", targets: ["Common", "LLMClient", "CodeSandbox", "Annotation"]),
    ],
    // Off by default: `swift build --traits MPI` (or `make mpi`) adds data-parallel training over MPI.
    traits: [.trait(name: "MPI", description: "Data-parallel training across processes over MPI (libopenmpi-dev).")],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.24.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // OpenBLAS on Linux (Debian `libopenblas-dev`); Accelerate is used instead on Apple platforms.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        // The decode step's matrix–vector kernels in C (AVX2 + FMA chosen at run time, portable C otherwise), fp32 and bf16.
        .target(name: "CKernels"),
        .target(
            name: "Tensor",
            dependencies: ["CKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux]))]
        ),
        // Strict, order-keeping JSON (duplicate keys rejected, keys compared by scalars) for headers and tokenizer files.
        .target(name: "JSON"),
        // What every command shares: JSONL reading and appending, progress, YAML configs, chat messages.
        .target(name: "Common", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(name: "SafeTensors", dependencies: ["Tensor", "JSON", "CKernels"]),
        // llama.cpp's GGUF files: the validated reader, ggml's block formats to fp32, and a writer (F32/F16/BF16/Q8_0).
        .target(name: "GGUF", dependencies: ["SafeTensors"]),
        .target(name: "Tokenizers", dependencies: ["JSON", "Common"]),
        .target(name: "Models", dependencies: ["Tensor", "SafeTensors", "JSON", "Common"]),
        // GGUF ↔ Hugging Face model directories (config, weights with llama.cpp's q/k row order, tokenizer files).
        .target(name: "GGUFConversion", dependencies: ["GGUF", "SafeTensors", "Models", "JSON", "Common"]),
        // Optimizers, schedules, the SFT trainer and checkpoints: above Models, below the CLI.
        .target(
            name: "Training",
            dependencies: ["Tensor", "SafeTensors", "Models", "Tokenizers", "Common", .product(name: "Yams", package: "Yams")]
        ),
        // MPI's C API through an inline shim (its handles are macros); pkg-config's `mpi-c` finds Open MPI or MPICH.
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "mpi-c", providers: [.apt(["libopenmpi-dev"])]),
        // Data parallelism: the launcher's ranks and the MPI gradient reducer, compiled in only with the MPI trait.
        .target(name: "Distributed", dependencies: ["Training", .target(name: "CMPI", condition: .when(traits: ["MPI"]))]),
        .target(name: "Generation", dependencies: ["Tensor", "Models", "Tokenizers", "Common"]),
        // The built-in task (posts, summaries, the metric, the rule-based teacher): Foundation only, no network.
        .target(name: "FactSummaries", dependencies: ["JSON", "Common", "Tokenizers"]),
        // PPO's arithmetic (KL, GAE, whitening, clipped losses, spans → token rewards) and the PPO objective.
        .target(
            name: "Server",
            dependencies: [
                "Models", "Tokenizers", "Generation", "Common", "FactSummaries", "JSON",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Quoted spans, labels, alignment, answer parsing, annotation records, spans → token scores: no I/O.
        .target(name: "Spans"),
        // An OpenAI-compatible chat client: retries, backoff, concurrency, usage.
        .target(
            name: "LLMClient",
            dependencies: [
                "Common", "Spans", "Tokenizers",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Untrusted code under limits, timeouts and a whole-tree kill.
        .target(name: "CodeSandbox", dependencies: ["Common", "Spans"]),
        // Dual-feedback annotation: tasks, teacher prompts, answer parsing, span alignment, the resumable run.
        .target(
            name: "Annotation",
            dependencies: [
                "Common", "Spans", "Tokenizers", "LLMClient", "CodeSandbox",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The generative reward model: its prompt and target format, data from annotations, critique inference.
        .target(
            name: "RewardModel",
            dependencies: ["Common", "Spans", "Tokenizers", "Training", "Generation", "LLMClient", "Annotation"]
        ),
        // PPO with token-level rewards: the RL arithmetic as pure functions, rollouts, the PPO objective.
        .target(
            name: "PolicyOptimization",
            dependencies: ["Common", "Spans", "Tensor", "Models", "Tokenizers", "Training", "Generation", "RewardModel"]
        ),
        // Any run's metrics and samples as one self-contained HTML page: curves, per-token rewards, the verdict.
        .target(
            name: "Report", dependencies: ["Common", "PolicyOptimization", .product(name: "Yams", package: "Yams")]
        ),
        // zlib (Debian `zlib1g-dev`), for gzipped task files such as HumanEval.jsonl.gz.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // ROUGE, BLEU, pass@k and the LLM judge; the metrics match rouge-score and sacrebleu exactly.
        .target(
            name: "Evaluation", dependencies: ["JSON", "CZlib", "Common", "Spans", "Tokenizers", "LLMClient", "CodeSandbox"]
        ),
        // The embedded default: the whole pipeline on the built-in task.
        .target(
            name: "Demo",
            dependencies: [
                "Common", "Spans", "Tensor", "Tokenizers", "Models", "Training", "Generation", "LLMClient", "Annotation",
                "RewardModel", "PolicyOptimization", "FactSummaries", .product(name: "Logging", package: "swift-log"),
            ],
            // The pretrained base the demo starts from (made by scripts/make-demo-base.sh).
            resources: [.copy("Resources/demo-base")]
        ),
        .executableTarget(
            name: "text2grad",
            dependencies: [
                "Tensor", "SafeTensors", "Models", "Tokenizers", "Training", "Common", "Spans", "LLMClient", "CodeSandbox", "Annotation",
                "Generation", "Server", "RewardModel", "PolicyOptimization", "Demo", "FactSummaries", "Evaluation",
                "Report", "Distributed", "GGUF", "GGUFConversion", "CKernels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Seeded mutations of valid input files, shared by every reader's fuzz test (Foundation only).
        .target(name: "FuzzSupport", path: "Tests/FuzzSupport"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(
            name: "GGUFTests",
            dependencies: ["GGUF", "GGUFConversion", "FuzzSupport", "Models", "Tokenizers", "SafeTensors", "Tensor"]
        ),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "SafeTensors", "JSON", "Tokenizers"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "Common"]),
        .testTarget(name: "TrainingTests", dependencies: ["FuzzSupport", "Training", "Models", "SafeTensors", "Tensor", "Tokenizers", "Common"]),
        .testTarget(name: "DemoTests", dependencies: ["Demo", "PolicyOptimization", "Training", "Report"]),
        .testTarget(
            name: "RewardModelTests",
            dependencies: ["FuzzSupport", "RewardModel", "Spans", "Annotation", "LLMClient", "Tokenizers"]
        ),
        .testTarget(
            name: "PolicyOptimizationTests",
            dependencies: [
                "FuzzSupport", "PolicyOptimization", "RewardModel", "Spans", "Models", "SafeTensors", "Tensor", "Training",
            ]
        ),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Common"]),
        // Every subcommand's flags against its typed configuration, through the real parser.
        .testTarget(
            name: "CLITests",
            dependencies: ["text2grad", "Common", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "SafeTensors", "Training"]),
        .testTarget(name: "GenerationTests", dependencies: ["Generation", "Models", "Tokenizers", "Tensor", "Common", "SafeTensors"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Generation", "Models", "Tokenizers", "Common", "LLMClient", "Annotation", "FactSummaries",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "FactSummariesTests",
            dependencies: ["FuzzSupport", "FactSummaries", "Spans", "Annotation", "Tokenizers", "Common"]
        ),
        .testTarget(
            name: "EvaluationTests",
            dependencies: [
                "FuzzSupport", "Evaluation", "JSON", "Common", "LLMClient", "CodeSandbox",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "AnnotationTests",
            dependencies: [
                "FuzzSupport", "Common", "Spans", "Tokenizers", "LLMClient", "CodeSandbox", "Annotation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
