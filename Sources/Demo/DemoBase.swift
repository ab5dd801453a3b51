import Common
import FactSummaries
import Foundation
import JSON
import Models
import Tensor
import RewardModel
import Tokenizers
import Training

/// Everything that decides the demo's pretrained base model: the same recipe gives the same data, tokenizer and
/// (on the same CPU kernels) the same weights. The base is made once by `scripts/make-demo-base.sh` and shipped
/// with the tool, because learning to copy facts from a post takes a tiny model tens of minutes of CPU time, more
/// than the demo's budget; a user always starts RL from a pretrained model, and so does the demo. Two phases of
/// full-parameter training, each a cosine schedule after a linear warmup:
/// 1. reading: the policy prompt and the reference summary of each post (short sequences, most of the steps);
/// 2. critiquing: the reward model's prompt and the teacher's review of a summary (long sequences, kept out of
///    phase 1 so its batches are not mostly padding), mixed with summaries of other posts so reading is kept.
public struct DemoBaseRecipe: Codable, Sendable, Equatable {
    /// Phase 1's posts: the train split of `DemoTask.options`, indices 0..<posts (the demo's eval posts come from
    /// another random stream and are never seen).
    public var posts = 60_000
    public var steps = 7000
    public var learningRate = 3e-3
    public var warmupSteps = 200
    /// Phase 2's posts (indices 0..<critiquePosts); every `referenceCritiqueEvery`-th reviews the reference summary
    /// (all facts right), the others the post's imperfect summary.
    public var critiquePosts = 24_000
    public var referenceCritiqueEvery = 5
    /// Phase 2 also keeps reading: the summaries of the next `critiqueSummaryPosts` posts are mixed in (trained on
    /// critiques alone, the model forgot how to summarise: held-out fact accuracy fell from 0.85 to 0.12).
    public var critiqueSummaryPosts = 24_000
    public var critiqueSteps = 800
    public var critiqueLearningRate = 1e-3
    public var critiqueWarmupSteps = 50
    /// Examples per step, and tokens per example at most (the longest critique example is well below it).
    public var batchSize = 16
    public var maxLength = 768
    /// Texts the tokenizer is trained on, in posts (each gives its prompt, reference summary and a critique).
    public var tokenizerPosts = 4000
    public var vocabularySize = 1024
    /// The model's shape (`LlamaConfig.namedShapes`) and its context (a critique prompt and answer need ~450 tokens).
    public var shape = "demo-tiny"
    public var contextLength = 1024
    /// Seeds of the initial weights and of the data order.
    public var initSeed: UInt64 = 1
    public var trainSeed: UInt64 = 0

    public init() {}

    /// A hash of the recipe, the task's texts and the teacher's answers for the first `sample` posts: what a test
    /// recomputes to know that the shipped base still follows from the code.
    public func dataFingerprint(sample: Int) throws -> String {
        var fingerprint = Fingerprint()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        fingerprint.add(try encoder.encode(self))
        for index in 0..<min(sample, posts) {
            for messages in [try summaryConversation(post: index), try critiqueConversation(post: index)] {
                for message in messages { fingerprint.add(message.role + ":" + message.content) }
            }
        }
        return String(format: "%016llx", fingerprint.value)
    }

    /// Phase 1's conversation of post `index`: the policy prompt and the reference summary.
    func summaryConversation(post index: Int) throws -> [ChatMessage] {
        let item = try FactTask.item(.train, index: index, options: DemoTask.options(train: posts, eval: 0))
        return [ChatMessage(role: "user", content: FactTask.policyPrompt(post: item.post.text)),
                ChatMessage(role: "assistant", content: item.reference)]
    }

    /// Phase 2's conversation of post `index`: the reward model's prompt and the teacher's review.
    func critiqueConversation(post index: Int) throws -> [ChatMessage] {
        let item = try FactTask.item(.train, index: index, options: DemoTask.options(train: posts, eval: 0))
        let reviewsReference = index % referenceCritiqueEvery == referenceCritiqueEvery - 1
        let summary = reviewsReference ? item.reference : item.imperfect.text
        return try DemoTask.critiqueConversation(prompt: FactTask.policyPrompt(post: item.post.text), summary: summary,
                                                 facts: item.post.facts)
    }
}

/// The demo's task: the built-in fact task with the mistakes a span can blame, and the teacher that critiques it.
public enum DemoTask {
    /// The task's options: imperfect summaries make one to three mistakes; a wrong value is always one the post
    /// gives someone else when it has one (a distractor), so it can be blamed by quoting it; omissions stay, rarer.
    public static func options(train: Int, eval: Int) -> FactTaskOptions {
        var options = FactTaskOptions()
        options.trainCount = train
        options.evalCount = eval
        options.imperfect.mistakeCountWeights = [0, 0.35, 0.4, 0.25]
        options.imperfect.wrongWeight = 0.45
        options.imperfect.missingWeight = 0.15
        options.imperfect.vagueWeight = 0.2
        options.imperfect.repeatedWeight = 0.2
        options.imperfect.wrongFromDistractors = 1
        return options
    }

    /// The demo's data (the policy's SFT on imperfect summaries, the annotations' task file): the same posts as
    /// `options`, with imperfect summaries whose mistakes are mostly ones the critic blames and the metric counts.
    /// A vague phrase where a value belongs is the commonest, then a wrong value from the post's distractors; a
    /// repetition (blamed, not counted) and an omission (counted, not blamed) stay rare, so all four are present.
    public static func policyOptions(train: Int, eval: Int) -> FactTaskOptions {
        var options = options(train: train, eval: eval)
        options.imperfect.wrongWeight = 0.3
        options.imperfect.vagueWeight = 0.5
        options.imperfect.repeatedWeight = 0.15
        options.imperfect.missingWeight = 0.05
        return options
    }

    /// The teacher of the demo: every problem and every right fact quoted (no cap), so its reward counts what the
    /// metric counts.
    public static let teacher = FactTeacher(options: TeacherOptions(maxQuotes: 0))

    /// The reward model's conversation for `summary` of the post in `prompt`, answered by the teacher.
    static func critiqueConversation(prompt: String, summary: String, facts: PostFacts) throws -> [ChatMessage] {
        let format = try RewardModelFormat.builtin("summarization")
        let review = teacher.review(facts, summary: summary)
        let target = format.answer(critique: review.critique,
                                   quotes: ["good_spans": review.good.map(\.text),
                                            "poor_spans": review.poor.map(\.text)])
        return format.messages(prompt: prompt, response: summary) + [ChatMessage(role: "assistant", content: target)]
    }
}

/// Making the base (`make`) and finding the shipped one (`shipped`).
public enum DemoBase {
    /// The manifest written beside the weights.
    public struct Manifest: Codable, Sendable, Equatable {
        public var recipe: DemoBaseRecipe
        /// `recipe.dataFingerprint(sample: fingerprintSample)`.
        public var dataFingerprint: String
        public var fingerprintSample: Int
        /// SHA-free integrity: FNV-1a of each shipped file's bytes, by file name.
        public var files: [String: String]
        /// Held-out fact accuracy when it was made (greedy, and sampled at the demo's rollout settings).
        public var greedyAccuracy: Double
        public var sampledAccuracy: Double
        /// The last held-out loss of each phase.
        public var readingLoss: Double
        public var critiqueLoss: Double
        public var seconds: Double
    }

    /// The files of a base model directory that the manifest covers.
    public static let fileNames = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
    public static let fingerprintSample = 2000

    /// The directory of the base shipped with the tool, if the resource bundle is installed beside it.
    public static var shipped: String? {
        guard let url = Bundle.module.url(forResource: "demo-base", withExtension: nil) else { return nil }
        return url.path
    }

    /// The model files (`fileNames`) of a model or checkpoint directory as a fresh plain model directory `model`.
    static func copyModel(from source: String, to model: String) throws {
        try? FileManager.default.removeItem(atPath: model)
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        for name in fileNames {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: model + "/" + name)
        }
    }

    /// The FNV-1a hash of a file's bytes, as 16 hex digits.
    public static func fileHash(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DemoError.stage("base", "cannot read \(path)")
        }
        var fingerprint = Fingerprint()
        fingerprint.add(data)
        return String(format: "%016llx", fingerprint.value)
    }

    /// Reads `manifest.json` of a base directory.
    public static func manifest(in directory: String) throws -> Manifest {
        guard let data = FileManager.default.contents(atPath: directory + "/manifest.json") else {
            throw DemoError.stage("base", "\(directory)/manifest.json is missing")
        }
        return try JSONDecoder().decode(Manifest.self, from: data)
    }

    /// Makes the base of `recipe` into `output` (a model directory with `manifest.json`): data, tokenizer, random
    /// initialisation, then full-parameter training on reference summaries and teacher critiques.
    public static func make(recipe: DemoBaseRecipe, output: String, threads: Int, evaluationPosts: Int = 200,
                            log: @escaping (String) -> Void) throws {
        let started = Date()
        // An interrupted make of the same recipe resumes: each phase from its newest checkpoint, a finished phase kept.
        let work = output + ".work", stamp = work + "/recipe.json"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let recipeJSON = try encoder.encode(recipe)
        let previous = FileManager.default.contents(atPath: stamp)
            .flatMap { try? JSONDecoder().decode(DemoBaseRecipe.self, from: $0) }
        if previous != recipe {
            try? FileManager.default.removeItem(atPath: work)
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            try OutputFile.write(recipeJSON, to: stamp)
        } else {
            log("resuming the make in \(work)")
        }
        Compute.useThreads(threads)

        log("conversations from \(recipe.posts) posts …")
        let summaries = try (0..<recipe.posts).map { try recipe.summaryConversation(post: $0) }
        let critiques = try (0..<recipe.critiquePosts).map { try recipe.critiqueConversation(post: $0) }
        let kept = try (recipe.critiquePosts..<(recipe.critiquePosts + recipe.critiqueSummaryPosts))
            .map { try recipe.summaryConversation(post: $0) }

        log("tokenizer …")
        var corpus: [String] = []
        for index in 0..<min(recipe.tokenizerPosts, recipe.posts, recipe.critiquePosts) {
            corpus += (summaries[index] + critiques[index]).map(\.content)
        }
        var trainer = BPETrainer()
        trainer.vocabularySize = recipe.vocabularySize
        try trainer.train(corpus).write(directory: URL(fileURLWithPath: work + "/tokenizer"))

        var shape = try RandomModel.shapeObject(recipe.shape)
        shape["max_position_embeddings"] = JSONValue(recipe.contextLength)
        try? FileManager.default.removeItem(atPath: work + "/init")
        let (_, parameters) = try ModelFiles.initialize(base: shape, tokenizer: work + "/tokenizer",
                                                        output: work + "/init",
                                                        seed: recipe.initSeed, std: 0.02)
        log("\(recipe.shape): \(parameters) parameters; \(summaries.count) summaries, \(critiques.count) critiques")

        log("phase 1, reading …")
        let reading = try train(recipe, model: work + "/init", conversations: summaries, output: work + "/reading",
                                steps: recipe.steps, learningRate: recipe.learningRate, warmupSteps: recipe.warmupSteps,
                                threads: threads)
        log("phase 2, critiquing …")
        let critiquing = try train(recipe, model: reading.model, conversations: critiques + kept,
                                   output: work + "/critiquing", steps: recipe.critiqueSteps,
                                   learningRate: recipe.critiqueLearningRate,
                                   warmupSteps: recipe.critiqueWarmupSteps, threads: threads)
        let last = critiquing.model

        try copyModel(from: last, to: output)

        log("held-out accuracy …")
        let greedy = try DemoEvaluation.tally(model: output, posts: evaluationPosts, threads: threads, greedy: true)
        let sampled = try DemoEvaluation.tally(model: output, posts: evaluationPosts, threads: threads)
        var files: [String: String] = [:]
        for name in fileNames { files[name] = try fileHash(output + "/" + name) }
        let manifest = Manifest(
            recipe: recipe, dataFingerprint: try recipe.dataFingerprint(sample: fingerprintSample),
            fingerprintSample: fingerprintSample, files: files, greedyAccuracy: greedy.meanAccuracy,
            sampledAccuracy: sampled.meanAccuracy, readingLoss: reading.loss, critiqueLoss: critiquing.loss,
            seconds: Date().timeIntervalSince(started))
        try OutputFile.write(try encoder.encode(manifest), to: output + "/manifest.json")
        try? FileManager.default.removeItem(atPath: work)
        log("greedy: \(greedy.line)")
        log("sampled: \(sampled.line)")
    }

    /// One phase: full-parameter SFT of `model` on `conversations` (1% held out), resumed from its newest checkpoint
    /// and skipped when finished before; returns the phase's model directory and its last held-out loss.
    static func train(_ recipe: DemoBaseRecipe, model: String, conversations: [[ChatMessage]], output: String,
                      steps: Int,
                      learningRate: Double, warmupSteps: Int, threads: Int) throws -> (model: String, loss: Double) {
        let finished = output + "-model"
        if let text = try? String(contentsOfFile: finished + "/eval-loss.txt", encoding: .utf8),
           let loss = Double(text) {
            return (finished, loss)
        }
        var c = SFTConfig()
        c.model.path = model
        c.data = "(demo base recipe)"
        c.loop.output = output
        c.loop.steps = steps
        c.loop.batchSize = recipe.batchSize
        c.maxLength = recipe.maxLength
        c.optimizer.learningRate = learningRate
        c.loop.warmupSteps = warmupSteps
        c.lora.rank = 0
        c.loop.seed = recipe.trainSeed
        c.evalFraction = 0.01
        c.loop.evalEvery = max(1, steps / 8)
        c.loop.saveEvery = max(1, steps / 8)
        c.loop.keepCheckpoints = 1
        c.model.threads = threads
        let sft = try SFTTrainer(config: c, resume: true, examples: { tokenizer in
            guard let tokenizer else { throw DemoError.stage("base", "\(model) has no tokenizer") }
            let examples = try conversations.map { messages -> SFTExample in
                let example = try SFTData.encode(messages, tokenizer: tokenizer)
                guard example.tokens.count <= recipe.maxLength else {
                    throw DemoError.stage("base", "an example of \(example.tokens.count) tokens exceeds max_length "
                                          + "\(recipe.maxLength)")
                }
                return example
            }
            return SFTData.split(examples, fraction: c.evalFraction, seed: c.loop.seed)
        })
        sft.loop.progress = ProgressReporter(total: c.loop.steps, style: .auto, interval: 30, unit: "steps")
        let records = try sft.run()
        sft.loop.progress?.finish()
        // The last checkpoint's model files as a plain model directory (no optimizer state).
        try copyModel(from: Checkpoint.directory(run: output, step: steps), to: finished)
        let logged = try MetricsLog.records(path: output + "/metrics.jsonl")
        let loss = records.last?.evalLoss ?? logged[steps]?["eval_loss"] ?? .nan
        try "\(loss)".write(toFile: finished + "/eval-loss.txt", atomically: true, encoding: .utf8)
        return (finished, loss)
    }
}
