// swift-tools-version: 6.1
// The layering of DESIGN.md §2 is visible here: each target imports only the targets listed
// before it. Tensor → SafeTensors → Models → Training; Tokenizers and Feedback stand beside the model stack;
// the `text2grad` executable is the only place that wires them together.
import PackageDescription

let package = Package(
    name: "text2grad",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "text2grad", targets: ["text2grad"]),
        .library(name: "Text2GradEngine", targets: ["Tensor", "SafeTensors", "Models", "Tokenizers", "Training"]),
        .library(name: "Feedback", targets: ["Feedback"]),
    ],
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
        .target(
            name: "Tensor",
            dependencies: [.target(name: "CBLAS", condition: .when(platforms: [.linux]))]
        ),
        // Strict, order-keeping JSON (duplicate keys rejected, keys compared by scalars) for headers and tokenizer files.
        .target(name: "JSON"),
        .target(name: "SafeTensors", dependencies: ["Tensor", "JSON"]),
        .target(name: "Tokenizers", dependencies: ["JSON"]),
        .target(name: "Models", dependencies: ["Tensor", "SafeTensors", "JSON"]),
        // Optimizers, schedules, the SFT trainer and checkpoints: above Models, below the CLI.
        .target(
            name: "Training",
            dependencies: ["Tensor", "SafeTensors", "Models", "Tokenizers", .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "Generation", dependencies: ["Tensor", "Models", "Tokenizers"]),
        .target(
            name: "Server",
            dependencies: [
                "Models", "Tokenizers", "Generation", "JSON",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Feedback",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "text2grad",
            dependencies: [
                "Tensor", "SafeTensors", "Models", "Tokenizers", "Training", "Feedback", "Generation", "Server",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "SafeTensors", "JSON", "Tokenizers"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Models", "SafeTensors", "Tensor", "Tokenizers"]),
        .testTarget(name: "GenerationTests", dependencies: ["Generation", "Models", "Tokenizers", "Tensor"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Generation", "Models", "Tokenizers", "Feedback",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "FeedbackTests",
            dependencies: [
                "Feedback",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
