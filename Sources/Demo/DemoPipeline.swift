import Annotation
import Chat
import Common
import FactSummaries
import Foundation
import Generation
import JSON
import Logging
import Models
import PolicyOptimization
import RewardModel
import Spans
import Tensor
import Tokenizers
import Training

/// The whole Text2Grad pipeline on the built-in task, through the same library calls the commands use, each
/// stage in its own folder of the run and skipped when a previous run with the same options finished it:
/// 1. `data`: the task's posts (train / eval), reference and imperfect summaries (`DemoTask.options`);
/// 2. `base`: the pretrained base (shipped with the tool, or `options.base`), its held-out fact accuracy measured;
/// 3. `policy`: SFT on imperfect summaries, so it makes mistakes worth criticising; its accuracy and mistakes;
/// 4. `annotations`: the policy's own samples critiqued by the teacher through the real annotate run;
/// 5. `rm`: the generative reward model (`train-rm` from the base) and its held-out evaluation (`eval-rm`), with the
///    quote rule and without it;
/// 6. `ppo-{rm,builtin}-{token,scalar}-seedK`: PPO from the same policy, same seeds and budget, rewarded by the
///    trained reward model and by the built-in (perfect) critic, evaluated on held-out posts by fact accuracy;
/// 7. the verdict (and the report, written by the caller) against `target`: the base's accuracy minus a margin.
public final class DemoPipeline {
    public let options: DemoOptions
    let log: (String) -> Void
    var root: String { options.output }
    var sizes: DemoSizes { options.sizes }
    /// The base model directory the run starts from.
    let baseSource: String
    /// The stage fingerprint (options, base, the data's mistake mix and the PPO settings).
    let fingerprint: String

    public init(options: DemoOptions, log: @escaping (String) -> Void) throws {
        self.options = options
        self.log = log
        guard let base = options.base ?? DemoBase.shipped else {
            throw DemoError.stage("base", "the tool's resources hold no pretrained base; pass one with --base DIR "
                                  + "(make it with scripts/make-demo-base.sh)")
        }
        baseSource = base
        fingerprint = options.fingerprint(base: try DemoBase.fileHash(base + "/model.safetensors")) + " " + DemoPPO.summary
            + " data=\(DemoTask.policyOptions(train: 0, eval: 0).imperfect)"
    }

    /// What a run produced: the PPO run directories by critic and mode, and the verdict's target.
    public struct Outcome {
        public var runs: [DemoCritic: [RewardMode: [String]]]
        /// The base's held-out fact accuracy minus `targetMargin`, to three decimals.
        public var target: Double
    }

    /// Runs every stage.
    @discardableResult
    public func run() throws -> Outcome {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try ConfigFile.save(options, to: root + "/config.yaml")
        Compute.useThreads(options.threads)
        try stage("data") { dir in
            try FactTask.write(options: DemoTask.policyOptions(train: sizes.trainPosts, eval: sizes.evalPosts), teacher: DemoTask.teacher,
                               to: dir)
            return "\(sizes.trainPosts) train and \(sizes.evalPosts) eval posts"
        }
        try stage("base") { dir in
            try DemoBase.copyModel(from: baseSource, to: dir + "/model")
            return "pretrained base: " + (try evaluate(model: dir + "/model", into: dir))
        }
        try stage("policy") { dir in
            let last = try sft(model: root + "/base/model", data: root + "/data/sft-imperfect.jsonl", output: dir + "/run",
                               steps: sizes.policySteps, learningRate: 1e-3)
            try publish(checkpoint: last, as: dir + "/model")
            return "\(sizes.policySteps) steps on imperfect summaries: " + (try evaluate(model: dir + "/model", into: dir))
        }
        try stage("annotations") { dir in try annotate(into: dir) }
        try stage("rm") { dir in try rewardModel(into: dir) }
        let target = ((try baseAccuracy() - options.targetMargin) * 1000).rounded() / 1000
        var runs: [DemoCritic: [RewardMode: [String]]] = [:]
        for critic in DemoCritic.allCases {
            for seed in 0..<options.seedCount {
                for mode in [RewardMode.token, .scalar] {
                    let name = "ppo-\(critic.rawValue)-\(mode.rawValue)-seed\(seed)"
                    try stage(name) { dir in try ppo(mode: mode, critic: critic, seed: UInt64(seed), into: dir) }
                    runs[critic, default: [:]][mode, default: []].append(root + "/" + name + "/run")
                }
            }
        }
        return Outcome(runs: runs, target: target)
    }

    /// The held-out fact accuracy of a model as PPO's evaluation measures it (the first `ppoEvalPosts` eval posts,
    /// the rollouts' decoding, the same seeds), written to `dir/evaluation.json`; returns its summary line.
    func evaluate(model: String, into dir: String) throws -> String {
        let tally = try DemoEvaluation.tally(model: model, posts: sizes.ppoEvalPosts, threads: options.threads)
        try OutputFile.writeJSON(tally.summary, to: dir + "/evaluation.json")
        return tally.line
    }

    /// The base's held-out fact accuracy, from its stage's `evaluation.json`.
    func baseAccuracy() throws -> Double {
        let path = root + "/base/evaluation.json"
        guard let data = FileManager.default.contents(atPath: path),
              let accuracy = try JSONValue.parse([UInt8](data))["fact_accuracy"]?.numberValue
        else { throw DemoError.stage("base", "\(path) holds no fact_accuracy") }
        return accuracy
    }

    /// Runs `body` into `root/name` unless a previous run with the same options finished it.
    func stage(_ name: String, _ body: (String) throws -> String) throws {
        let dir = root + "/" + name, marker = dir + "/done.json"
        if let data = FileManager.default.contents(atPath: marker),
           let done = try? JSONValue.parse([UInt8](data)), done["fingerprint"]?.stringValue == fingerprint {
            log("[\(name)] done before, kept (\(done["summary"]?.stringValue ?? ""))")
            return
        }
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        log("[\(name)] …")
        let started = Date()
        let summary = try body(dir)
        let seconds = Date().timeIntervalSince(started)
        log(String(format: "[\(name)] %@ (%.0f s)", summary, seconds))
        let done: JSONValue = [
            "fingerprint": JSONValue(fingerprint), "summary": JSONValue(summary), "seconds": JSONValue(seconds),
        ]
        try OutputFile.writeJSON(done, to: marker, what: "the stage's done marker")
    }

    /// Full-parameter SFT; returns the last checkpoint.
    func sft(model: String, data: String, output: String, steps: Int, learningRate: Double) throws -> String {
        var c = SFTConfig()
        c.model.path = model
        c.data = data
        c.loop.output = output
        c.loop.steps = steps
        c.loop.batchSize = sizes.batchSize
        c.maxLength = 256
        c.optimizer.learningRate = learningRate
        c.loop.warmupSteps = max(1, steps / 20)
        c.lora.rank = 0
        c.evalFraction = 0.05
        c.loop.keepCheckpoints = 1
        c.model.threads = options.threads
        let trainer = try SFTTrainer(config: c)
        trainer.loop.progress = ProgressReporter(total: steps, style: .auto, interval: 15, unit: "steps")
        try trainer.run()
        trainer.loop.progress?.finish()
        return Checkpoint.directory(run: output, step: steps)
    }

    /// A full checkpoint's files as a plain model directory.
    func publish(checkpoint: String, as model: String) throws {
        try FileManager.default.copyItem(atPath: checkpoint, toPath: model)
        for name in ["optimizer.safetensors", "trainer_state.json"] { try? FileManager.default.removeItem(atPath: model + "/" + name) }
    }

    /// The policy's samples of train posts, critiqued by the teacher through `AnnotationRun`.
    func annotate(into dir: String) throws -> String {
        let (model, tokenizer) = try ModelFiles.load(directory: root + "/policy/model", threads: options.threads)
        guard let tokenizer else { throw DemoError.stage("annotations", "the policy has no tokenizer") }
        let items = try JSONLines.read(path: root + "/data/train.jsonl").prefix(sizes.annotatedSamples)
        var parameters = SamplingParameters()
        parameters.temperature = Float(DemoEvaluation.temperature)
        parameters.minNewTokens = DemoEvaluation.minNewTokens
        parameters.maxNewTokens = DemoEvaluation.maxNewTokens
        let generator = Generator(model: model, tokenizer: tokenizer)
        var lines: [String] = []
        let list = Array(items)
        for start in stride(from: 0, to: list.count, by: 32) {
            let group = Array(list[start..<min(list.count, start + 32)])
            let requests = try group.enumerated().map { i, line -> GenerationRequest in
                var p = parameters
                p.seed = UInt64(start + i)
                let prompt = FactTask.policyPrompt(post: line.object["prompt"]?.stringValue ?? "")
                let ids = try tokenizer.chatPromptIds([ChatMessage(role: "user", content: prompt)])
                return GenerationRequest(promptIds: ids, parameters: p)
            }
            // The record's prompt is what the policy was asked, as PPO's critic is asked it.
            for (line, sequence) in zip(group, try generator.generate(requests)) {
                let prompt = FactTask.policyPrompt(post: line.object["prompt"]?.stringValue ?? "")
                lines.append(JSONLines.encode(
                    ["id": line.object["id"] ?? "", "prompt": JSONValue(prompt), "response": JSONValue(sequence.text)]))
            }
        }
        let samples = dir + "/samples.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: samples, atomically: true, encoding: .utf8)
        var config = AnnotateConfig(environment: [:])
        config.input = samples
        config.output = dir + "/annotations.jsonl"
        config.progress = .none
        config.endpoint.concurrency = 8
        if let url = options.teacherURL {
            config.endpoint.baseURL = url
            config.endpoint.model = options.teacherModel
            config.endpoint.apiKey = ProcessInfo.processInfo.environment["OPENAI_API_KEY"]
        } else {
            config.endpoint.baseURL = "http://builtin.invalid/v1"
            config.endpoint.model = "builtin-teacher"
        }
        try config.validate()
        let run = AnnotationRun(config: config, logger: Logger(label: "text2grad.demo"))
        let client: (any ChatCompleting)? = options.teacherURL == nil ? TeacherClient() : nil
        let summary = try runBlocking { try await run.execute(client: client) }
        return "\(lines.count) samples, \(summary.records) annotated"
    }

    /// The reward model: the base fully fine-tuned on the annotations (a model this small learns the task faster
    /// with every weight free than through an adapter), evaluated on the held-out records as `eval-rm` does, with the
    /// quote rule (`rm-eval.json`, what PPO uses) and with free quotes (`rm-eval-free-quotes.json`).
    func rewardModel(into dir: String) throws -> String {
        var c = RewardModelTraining.defaults
        c.model.path = root + "/base/model"
        c.data = root + "/annotations/annotations.jsonl"
        c.loop.output = dir + "/run"
        c.loop.steps = sizes.rewardModelSteps
        c.loop.batchSize = sizes.batchSize
        c.maxLength = 768
        c.optimizer.learningRate = 1e-3
        c.lora.rank = 0
        c.loop.warmupSteps = max(1, c.loop.steps / 20)
        c.evalFraction = 0.05
        c.loop.keepCheckpoints = 1
        c.model.threads = options.threads
        let trainer = try RewardModelTraining.trainer(config: c, resume: false)
        trainer.loop.progress = ProgressReporter(total: c.loop.steps, style: .auto, interval: 15, unit: "steps")
        try trainer.run()
        trainer.loop.progress?.finish()
        try publish(checkpoint: Checkpoint.directory(run: c.loop.output, step: c.loop.steps), as: dir + "/model")
        let gold = try RewardModelData.records(path: c.data).filter { RewardModelData.isHeldOut($0.id, fraction: c.evalFraction) }
        let tokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: c.model.path))
        var lines: [String] = []
        for (freeQuotes, file) in [(false, "rm-eval.json"), (true, "rm-eval-free-quotes.json")] {
            let critic = try localCritic()
            critic.quotesFromResponse = !freeQuotes
            let outcomes = try critic.critique(gold.map { CritiquePair(id: $0.id, prompt: $0.prompt, response: $0.response) })
            var evaluation = RewardModelEvaluation(format: critic.format)
            for (record, outcome) in zip(gold, outcomes) { evaluation.add(gold: record, predicted: outcome, tokenizer: tokenizer) }
            try OutputFile.writeJSON(evaluation.summary, to: dir + "/" + file)
            let f1 = ["good_spans", "poor_spans"].map { evaluation.labels[$0]!.tokens.f1 }
            lines.append(String(format: "%@: token F1 good %.3f poor %.3f, parse failures %.1f%%, unmatched %.1f%%",
                                freeQuotes ? "free quotes" : "quote rule", f1[0], f1[1], 100 * evaluation.parseFailureRate,
                                100 * evaluation.unmatchedSpanRate))
        }
        return lines.joined(separator: "; ") + " on \(gold.count) held out"
    }

    /// The trained reward model (`rm/model`) as a critic, quoting only the response's own text.
    func localCritic() throws -> Critic {
        let (model, tokenizer) = try ModelFiles.load(directory: root + "/rm/model", threads: options.threads)
        let critic = Critic(backend: .local(Generator(model: model, tokenizer: tokenizer), name: "demo-rm"),
                            format: try RewardModelFormat.builtin("summarization"))
        critic.maxNewTokens = sizes.critiqueTokens
        critic.batchSize = 16
        return critic
    }

    /// The PPO settings of the demo's runs: the same for both modes (only `reward_mode` and the seed differ).
    func ppoConfig(mode: RewardMode, seed: UInt64, into dir: String) throws -> PPOConfig {
        var c = PPOConfig()
        c.model.path = root + "/policy/model"
        c.prompts = try policyPrompts(split: "train", into: dir)
        c.evalPrompts = try policyPrompts(split: "eval", into: dir)
        c.loop.output = dir + "/run"
        c.rewardMode = mode
        c.loop.steps = sizes.ppoSteps
        c.loop.batchSize = sizes.ppoBatch
        c.miniBatchSize = max(1, sizes.ppoBatch / 2)
        c.sampling.temperature = DemoEvaluation.temperature
        c.sampling.maxNewTokens = DemoEvaluation.maxNewTokens
        c.sampling.minNewTokens = DemoEvaluation.minNewTokens
        DemoPPO.apply(mode: mode, to: &c)
        c.loop.evalEvery = sizes.ppoEvalEvery
        c.evalLimit = sizes.ppoEvalPosts
        c.evalCritique = false  // the held-out figure is fact accuracy; the critic reads only the response logged
        c.loop.keepCheckpoints = 1
        c.loop.seed = seed
        c.model.threads = options.threads
        return c
    }

    /// One PPO run from the SFT policy, rewarded by `critic`.
    func ppo(mode: RewardMode, critic: DemoCritic, seed: UInt64, into dir: String) throws -> String {
        var c = try ppoConfig(mode: mode, seed: seed, into: dir)
        c.critic.source = critic == .rm ? .rm : .builtin
        if critic == .rm {
            c.critic.model = root + "/rm/model"
            c.critic.maxNewTokens = sizes.critiqueTokens
        }
        let format = try RewardModelFormat.builtin("summarization")
        let source = critic == .rm ? try localCritic()
            : Critic(backend: .function({ DemoTask.teacher.reply(post: $0.prompt, summary: $0.response).text }, name: "builtin-teacher"),
                     format: format)
        let trainer = try PolicyTrainer(config: c, critic: source, format: format)
        trainer.objective.taskMetric = { prompt, response in FactChecker.accuracy(post: prompt.text, summary: response) }
        trainer.loop.progress = ProgressReporter(total: c.loop.steps, style: .auto, interval: 15, unit: "steps")
        let records = try trainer.run()
        trainer.loop.progress?.finish()
        let accuracy = records.last?.metrics["eval/task_metric"] ?? .nan
        return String(format: "%@ PPO, %@, seed %d: held-out fact accuracy %.3f", mode == .token ? "token-level" : "scalar",
                      critic == .rm ? "reward model" : "built-in critic", seed, accuracy)
    }

    /// The policy's prompts for a split: the instruction and the post, one user turn.
    func policyPrompts(split: String, into dir: String) throws -> String {
        let path = dir + "/prompts-\(split).jsonl"
        let lines = try JSONLines.read(path: root + "/data/\(split).jsonl").map { line in
            let prompt = FactTask.policyPrompt(post: line.object["prompt"]?.stringValue ?? "")
            return JSONLines.encode(["id": line.object["id"] ?? "", "prompt": JSONValue(prompt)])
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// Who rewards the demo's PPO runs: the reward model the demo trained (the pipeline end to end), and the built-in
/// teacher, a perfect critic of the task (what the reward modes do with critiques that are right).
public enum DemoCritic: String, CaseIterable, Sendable {
    case rm, builtin
}

/// The demo's PPO settings: the same for both reward modes except how the critique's scores become advantages,
/// where each mode has the best of a small sweep with the built-in (perfect) critic on this task (docs/PPO.md
/// gives the table; seeds 0–2, 20 steps, everything else as here):
/// - token-level: GAE's γ = 0, so each token's advantage is its own span score (minus β·KL) against the value
///   head's estimate of it. With γ = 1 a token's advantage also carries every later token's score through the
///   value head's errors, and this small model's value head explains little of the return: at λ = 0.95 a wrong
///   value was often credited with the praise its sentence earned after it, and at λ = 0 the runs drifted longer;
/// - scalar: the sequence score is the mean span score of the quoted tokens (`scalar_score: mean`), with γ = 1 and
///   λ = 0.95 (TRL's defaults). The sum of the token scores (token mode's return, the tool's default) lost
///   accuracy at λ 0.95 and 1 and at twice the learning rate; γ = 0 would teach the last token alone.
public enum DemoPPO {
    public static let learningRate = 5e-4, klCoef = 0.1, loraRank = 16, ppoEpochs = 4

    /// What differs between the modes: GAE's γ and λ, and the scalar's sequence score.
    public static func advantage(_ mode: RewardMode) -> (gamma: Double, lam: Double, scalarScore: SequenceScoreRule) {
        mode == .token ? (0, 0.95, .sum) : (1, 0.95, .mean)
    }

    static func apply(mode: RewardMode, to c: inout PPOConfig) {
        c.ppoEpochs = ppoEpochs
        c.optimizer.learningRate = learningRate
        c.lora.rank = loraRank
        c.klCoef = klCoef
        (c.gamma, c.lam, c.scalarScore) = advantage(mode)
    }

    /// The settings, for the stage fingerprint.
    static var summary: String {
        let modes = RewardMode.allCases.map { "\($0.rawValue)=\(advantage($0))" }.joined(separator: ",")
        return "ppo=lr\(learningRate),kl\(klCoef),lora\(loraRank),epochs\(ppoEpochs),\(modes)"
    }
}

/// The built-in teacher as an in-process OpenAI-compatible client, so the demo's annotation goes through the same
/// `AnnotationRun` as `text2grad annotate` against `serve --teacher builtin`.
struct TeacherClient: ChatCompleting {
    let teacher = DemoTask.teacher

    func complete(_ request: ChatRequest) async throws -> ChatReply {
        let text = teacher.reply(to: request.messages.map { ($0.role, $0.content) }).text
        return ChatReply(content: text, usage: TokenUsage(), latencyMilliseconds: 0, attempts: 1)
    }
}

/// Why the demo stopped.
public enum DemoError: Error, CustomStringConvertible {
    case stage(String, String)

    public var description: String {
        switch self {
        case let .stage(name, detail): return "demo stage \(name): \(detail)"
        }
    }
}
