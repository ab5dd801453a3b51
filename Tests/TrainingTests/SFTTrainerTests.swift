import Common
import Foundation
import Models
import Testing
import TestSupport
import Tokenizers
@testable import Training

/// The SFT trainer on a tiny fixture model: exact resume (in process and after SIGKILL), NaN stop, data, config.
@Suite(.serialized) struct SFTTrainerTests {
    static let modelName = "llama3-sharded"

    /// A run directory and a JSONL of 24 random {"prompt_ids", "target_ids"} examples (vocabulary 256).
    static func scratch(_ name: String) throws -> (directory: String, data: String) {
        let directory = NSTemporaryDirectory() + "sft-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: 9)
        var lines: [String] = []
        for _ in 0..<24 {
            let prompt = (0..<(2 + Int(rng.next() % 6))).map { _ in 1 + Int(rng.next() % 255) }
            let target = (0..<(1 + Int(rng.next() % 8))).map { _ in 1 + Int(rng.next() % 255) }
            lines.append("{\"prompt_ids\": \(prompt), \"target_ids\": \(target)}")
        }
        let data = directory + "/data.jsonl"
        try lines.joined(separator: "\n").write(toFile: data, atomically: true, encoding: .utf8)
        return (directory, data)
    }

    static func config(_ directory: String, data: String, run: String, lora: Bool) -> SFTConfig {
        var c = SFTConfig()
        c.model.path = TrainingTestFixtures.model(modelName)
        c.data = data
        c.loop.output = directory + "/" + run
        c.loop.steps = 8
        c.loop.batchSize = 3
        c.maxLength = 64  // the fixture model's context (max_position_embeddings)
        c.gradientAccumulation = 2
        c.optimizer.learningRate = 3e-3
        c.loop.warmupSteps = 2
        c.optimizer.weightDecay = 0.01
        c.lora.rank = lora ? 4 : 0
        c.lora.dropout = lora ? 0.1 : 0
        c.lora.targets = ["q_proj", "v_proj", "down_proj"]
        c.loop.saveEvery = 2
        c.loop.evalEvery = 4
        c.model.threads = 2
        return c
    }

    @Test func fullFineTuningResumesExactlyInProcess() throws {
        let (directory, data) = try Self.scratch("inproc")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let straight = try SFTTrainer(config: Self.config(directory, data: data, run: "straight", lora: false)).run()
        #expect(straight.count == 8)
        #expect(straight.last!.loss < straight.first!.loss, "training must lower the loss: \(straight.map(\.loss))")
        // A run stopped after step 5: checkpoint-4 is its newest, step 5's update is lost as in a crash.
        let four = Self.config(directory, data: data, run: "resumed", lora: false)
        try SFTTrainer(config: four).run(until: 5)
        #expect(Checkpoint.steps(in: four.loop.output) == [2, 4])
        let rest = try SFTTrainer(config: four, resume: true).run()
        #expect(rest.map(\.step) == [5, 6, 7, 8])
        let a = try MetricsLog.losses(path: directory + "/straight/metrics.jsonl")
        let b = try MetricsLog.losses(path: four.loop.output + "/metrics.jsonl")
        #expect(a.count == 8 && b.count == 8)
        for step in 1...8 { #expect(a[step] == b[step], "step \(step): \(a[step] ?? .nan) vs \(b[step] ?? .nan)") }
    }

    /// A real process, SIGKILLed mid-run, resumed with --resume: every logged loss equals the uninterrupted run's.
    @Test func loraRunSurvivesSIGKILL() throws {
        let binary = try Self.executable()
        let (directory, data) = try Self.scratch("kill")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func arguments(_ run: String) -> [String] {
            let c = Self.config(directory, data: data, run: run, lora: true)
            return ["sft", "--model", c.model.path, "--data", data, "--output", c.loop.output, "--steps", "8",
                    "--batch-size", "3",
                    "--gradient-accumulation", "2", "--learning-rate", "3e-3", "--warmup-steps", "2", "--lora-rank", "4",
                    "--lora-dropout", "0.1", "--lora-targets", "q_proj,v_proj,down_proj", "--save-every", "2", "--eval-every", "4",
                    "--threads", "2", "--weight-decay", "0.01", "--max-length", "64"]
        }
        func launch(_ args: [String]) throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = args
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        let straight = try launch(arguments("straight"))
        straight.waitUntilExit()
        #expect(straight.terminationStatus == 0)

        let victim = try launch(arguments("killed") + ["--step-delay", "0.4"])
        let metrics = directory + "/killed/metrics.jsonl"
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, (try? MetricsLog.losses(path: metrics).count) ?? 0 < 5 { Thread.sleep(forTimeInterval: 0.05) }
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        #expect(victim.terminationReason == .uncaughtSignal)
        let loggedBeforeKill = try MetricsLog.losses(path: metrics).count
        #expect((5..<8).contains(loggedBeforeKill), "killed after \(loggedBeforeKill) steps")
        #expect(Checkpoint.steps(in: directory + "/killed").last == 4)

        let resumed = try launch(arguments("killed") + ["--resume"])
        resumed.waitUntilExit()
        #expect(resumed.terminationStatus == 0)
        let a = try MetricsLog.losses(path: directory + "/straight/metrics.jsonl")
        let b = try MetricsLog.losses(path: metrics)
        #expect(a.count == 8 && b.count == 8)
        for step in 1...8 { #expect(a[step] == b[step], "step \(step): \(a[step] ?? .nan) vs \(b[step] ?? .nan)") }
        #expect(Checkpoint.steps(in: directory + "/killed") == [6, 8])  // keep_checkpoints 2
        let adapter = try LoRAAdapter.load(directory: Checkpoint.directory(run: directory + "/killed", step: 8), config: try LlamaConfig(directory: TrainingTestFixtures.model(Self.modelName)))
        #expect(adapter.config.rank == 4)
    }

    /// `text2grad merge-lora` on peft's adapter: the merged directory alone gives the adapted logits.
    @Test func mergeLoRAWritesAPlainModel() throws {
        let binary = try Self.executable()
        let output = NSTemporaryDirectory() + "merged-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let base = TrainingTestFixtures.model(Self.modelName), adapterDirectory = TrainingTestFixtures.training + "/lora-\(Self.modelName)"
        let merge = try launch(URL(fileURLWithPath: binary),
                               ["merge-lora", "--model", base, "--adapter", adapterDirectory, "-o", output])
        #expect(merge.status == 0)
        let merged = try LlamaModel(directory: output)
        #expect(merged.adapter == nil && FileManager.default.fileExists(atPath: output + "/config.json"))
        let adapted = try LlamaModel(directory: base)
        adapted.adapter = try LoRAAdapter.load(directory: adapterDirectory, config: adapted.config)
        let batch = TokenBatch(sequences: [[1, 17, 200, 33, 4, 99], [1, 45, 46]], padding: .left)
        let a = try merged.logits(batch).array, b = try adapted.logits(batch).array
        var worst: Float = 0
        for i in 0..<a.count where batch.mask[i / merged.config.vocabSize] > 0 { worst = max(worst, abs(a[i] - b[i])) }
        #expect(worst < 1e-4, "merged vs adapted: \(worst)")
        #expect(try LlamaModel(directory: base).logits(batch).array != a)
    }

    /// The built `text2grad` executable beside the test bundle (or in .build/debug).
    static func executable() throws -> String {
        try #require(text2gradExecutable(), "build the text2grad executable first").path
    }

    @Test func nonFiniteLossStopsAndKeepsTheLastCheckpoint() throws {
        let (directory, data) = try Self.scratch("nan")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var c = Self.config(directory, data: data, run: "run", lora: false)
        c.loop.steps = 2
        let trainer = try SFTTrainer(config: c)
        try trainer.run()
        let checkpoint = Checkpoint.directory(run: c.loop.output, step: 2) + "/model.safetensors"
        let before = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        var more = c
        more.loop.steps = 4
        let resumed = try SFTTrainer(config: more, resume: true)
        #expect(resumed.state.step == 2)
        resumed.model.weights.layers[1].down[5] = .infinity
        do {
            try resumed.run()
            Issue.record("a run with an infinite weight finished")
        } catch let error as TrainingError {
            guard case let .nonFinite(step, quantity, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(step == 3 && quantity == "loss")
            #expect("\(error)".hasPrefix("step 3: the loss is"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: checkpoint)) == before)
        #expect(Checkpoint.steps(in: c.loop.output) == [2])
    }

    @Test func chatTemplateMasksPromptAndKeepsEndOfTurn() throws {
        let tokenizer = try Tokenizer.load(directory: TrainingTestFixtures.root.appendingPathComponent("tokenizers/qwen2"))
        let messages = [ChatMessage(role: "user", content: "What is 2+2?"), ChatMessage(role: "assistant", content: "4, of course.")]
        let example = try SFTData.encode(messages, tokenizer: tokenizer)
        let target = tokenizer.decode(Array(example.tokens[example.targetStart..<example.targetEnd]))
        #expect(target == "4, of course.<|im_end|>")
        #expect(tokenizer.decode(Array(example.tokens[..<example.targetStart])).hasSuffix("<|im_start|>assistant\n"))
        let targets = example.targets(length: example.tokens.count + 2)
        #expect(targets.filter { $0 >= 0 }.count == example.targetCount)
        #expect(targets[example.targetEnd - 2] == Int32(tokenizer.id(for: "<|im_end|>")!))
    }

    /// `base_precision: bf16` under LoRA: the run trains, each step's loss within 2% of the fp32 run's, and the
    /// setting is saved; without LoRA (nothing frozen) it is refused, naming the key.
    @Test func loraWithBF16BaseProductsTracksFP32() throws {
        let (directory, data) = try Self.scratch("bf16")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fp32 = try SFTTrainer(config: Self.config(directory, data: data, run: "fp32", lora: true)).run()
        var c = Self.config(directory, data: data, run: "bf16", lora: true)
        c.lora.basePrecision = .bf16
        let bf16 = try SFTTrainer(config: c).run()
        #expect(bf16.last!.loss < bf16.first!.loss, "training must lower the loss: \(bf16.map(\.loss))")
        for (a, b) in zip(fp32, bf16) {
            #expect(abs(a.loss - b.loss) <= 0.02 * a.loss, "step \(a.step): \(a.loss) vs \(b.loss)")
        }
        #expect(try String(contentsOfFile: c.loop.output + "/config.yaml", encoding: .utf8)
            .contains("base_precision: bf16"))
        var full = Self.config(directory, data: data, run: "full", lora: false)
        full.lora.basePrecision = .bf16
        #expect { try full.validate() } throws: { "\($0)".contains("base_precision") }
    }

    @Test func yamlConfigWithFlagsAndTypos() throws {
        let directory = NSTemporaryDirectory() + "sft-yaml-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "model: m\ndata: d.jsonl\nsteps: 7\nlora_rank: 0\nschedule: linear\nlora_targets: [q_proj, up_proj]\n"
            .write(toFile: directory + "/a.yaml", atomically: true, encoding: .utf8)
        let c = try SFTConfig.load(yaml: directory + "/a.yaml")
        #expect(c.loop.steps == 7 && c.lora.rank == 0 && c.loop.schedule == .linear)
        #expect(c.lora.targets == ["q_proj", "up_proj"])
        #expect(c.loop.batchSize == SFTConfig().loop.batchSize)
        #expect(try YAMLRoundTrip.decode(c.yaml()) == c)
        try "model: m\nlearning_rat: 1\n".write(toFile: directory + "/b.yaml", atomically: true, encoding: .utf8)
        #expect(throws: TrainingError.self) { try SFTConfig.load(yaml: directory + "/b.yaml") }
    }

    /// Token ids in SFT data are integers: 2.5, true or 1e20 are a badData error naming the line and the field,
    /// never floored or coerced into another token.
    @Test func idDataRefusesNonIntegers() throws {
        let directory = NSTemporaryDirectory() + "sft-ids-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = "{\"prompt_ids\": [1, 2], \"target_ids\": [3]}"
        for (line, field) in [("{\"prompt_ids\": [1, 2.5], \"target_ids\": [3]}", "prompt_ids"),
                              ("{\"prompt_ids\": [1, 2], \"target_ids\": [true]}", "target_ids"),
                              ("{\"prompt_ids\": [1e20], \"target_ids\": [3]}", "prompt_ids")] {
            let path = directory + "/data.jsonl"
            try (good + "\n" + line + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            do {
                var dropped: [Int] = []
                _ = try SFTData.load(path: path, tokenizer: nil, maxLength: 64, dropped: &dropped)
                Issue.record("\(line) was accepted")
            } catch let TrainingError.badData(badPath, number, reason) {
                #expect(badPath == path && number == 2, "\(line)")
                #expect(reason.contains("\"\(field)\"") && reason.contains("integer"), "\(line): \(reason)")
            }
        }
        // Ids outside the vocabulary are refused with the field; an over-long example is cut, or dropped and counted
        // when its prompt alone fills max_length.
        let path = directory + "/data.jsonl"
        try (good + "\n{\"prompt_ids\": [1, 2], \"target_ids\": [-1]}\n").write(toFile: path, atomically: true, encoding: .utf8)
        var dropped: [Int] = []
        #expect(throws: TrainingError.badData(path: path, line: 2, reason: "\"target_ids\" holds id -1, outside the vocabulary (0..<10)")) {
            _ = try SFTData.load(path: path, tokenizer: nil, maxLength: 64, vocabularySize: 10, dropped: &dropped)
        }
        try (good + "\n{\"prompt_ids\": [1, 2, 3, 4], \"target_ids\": [5]}\n{\"prompt_ids\": [1], \"target_ids\": [5, 6, 7, 8]}\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let examples = try SFTData.load(path: path, tokenizer: nil, maxLength: 3, vocabularySize: 10, dropped: &dropped)
        #expect(dropped == [2])
        #expect(examples.map(\.tokens) == [[1, 2, 3], [1, 5, 6]] && examples.map(\.targetEnd) == [3, 3])
        #expect(SFTData.droppedWarning(path: path, lines: dropped, maxLength: 3)?.contains("(line 2)") == true)
    }

    @Test func dataCursorCoversEveryExampleOncePerEpoch() {
        var cursor = DataCursor()
        let first = cursor.next(7, of: 10, seed: 1) + cursor.next(3, of: 10, seed: 1)
        #expect(Set(first) == Set(0..<10))
        #expect(cursor == DataCursor(epoch: 0, position: 10))
        let next = cursor.next(4, of: 10, seed: 1)
        #expect(cursor == DataCursor(epoch: 1, position: 4) && next != Array(first.prefix(4)))
    }
}

enum YAMLRoundTrip {
    static func decode(_ text: String) throws -> SFTConfig {
        let path = NSTemporaryDirectory() + "roundtrip-\(getpid()).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try SFTConfig.load(yaml: path)
    }
}
