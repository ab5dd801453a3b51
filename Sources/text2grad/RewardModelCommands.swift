import ArgumentParser
import Common
import Foundation
import JSON
import Generation
import RewardModel
import Spans
import Tasks
import Tokenizers
import Training

/// `text2grad train-rm`: the generative reward model, LoRA SFT on critique + span JSON from annotation records.
struct TrainRM: ParsableCommand, ConfiguredCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-rm",
        abstract: "Train a generative reward model on annotation records (critique first, then quoted spans).",
        discussion: """
            Each record of --annotations (the output of `annotate` or `critique`) becomes one pair: the reward-model \
            prompt (the task's instructions, the prompt and the response, through the model's chat template) and \
            the target JSON, by --target: critique+spans {"textual_feedback": ..., "<label>": [quotes], ...}, spans \
            (the quote lists alone) or dense {"labelled_words": ["=word", "+word", "-word", ...]} (every word of the \
            response after the sign of its label's score); quotes are the response's own text at the aligned \
            offsets (unmatched quotes are dropped and counted). Each checkpoint saves the target in \
            reward_model.json, which critique, eval-rm and train-policy read. Loss on the target and the \
            end-of-turn token. Held out: --eval-annotations, else the ids a stable hash puts in --eval-fraction \
            (eval-rm uses the same split). Defaults as sft, except runs/rm and LoRA on q_proj,v_proj. The YAML key \
            of --annotations is `data`.
            """)

    @OptionGroup var training: TrainingOptions<TrainRM>
    @Option(help: "Annotation records (JSONL).") var annotations: String?
    @Option(help: "Held-out annotation records (default: a stable hash of the id holds out --eval-fraction).")
    var evalAnnotations: String?
    @Option(help: ArgumentHelp("What the reward model learns to write: critique+spans (reasoning, then the quotes), "
                               + "spans (the quotes alone) or dense (every word tagged good, poor or neither)."
                               + " (default: critique+spans)"))
    var target: RewardTarget?

    static var defaults: SFTConfig { RewardModelTraining.defaults }

    func resolvedConfig() throws -> SFTConfig {
        try training.resolve { c in
            c.override(\.data, annotations)
            c.override(\.evalData, evalAnnotations)
            c.target = target ?? c.target ?? .critiqueSpans
        }
    }

    func run() throws {
        let c = try resolvedConfig()
        try distributed { reducer in
            let trainer = try RewardModelTraining.trainer(config: c, resume: training.resume, reducer: reducer,
                                                          warn: { note("train-rm: " + $0) }) { data in
                note("train-rm: \(data.train) training and \(data.eval) held-out pairs; \(data.droppedSpans) of \(data.spans) "
                    + "spans dropped as unmatched")
            }
            try training.train(trainer, name: "train-rm", reducer: reducer)
        }
    }
}

/// The flags `critique` and `eval-rm` had before the critic group gave every command the same ones, kept hidden:
/// `--model`, `--adapter`, `--endpoint` (which also sets `--reward endpoint`), `--endpoint-model`,
/// `--max-new-tokens` and `--batch-size`.
struct CriticAliases<Command: ConfiguredCommand>: ParsableArguments where Command.Config: HasCritic {
    @Option(name: .customLong("model"), help: .hidden) var model: String?
    @Option(name: .customLong("adapter"), help: .hidden) var adapter: String?
    @Option(name: .customLong("endpoint"), help: .hidden) var endpoint: String?
    @Option(name: .customLong("endpoint-model"), help: .hidden) var endpointModel: String?
    @Option(name: .customLong("max-new-tokens"), help: .hidden) var maxNewTokens: Int?
    @Option(name: .customLong("batch-size"), help: .hidden) var batchSize: Int?

    func validate() throws {
        if model != nil && endpoint != nil {
            throw ValidationError("give --reward-model DIR or --reward-url URL, not both")
        }
    }

    /// Applied before the critic group's own flags, which win.
    func apply(to c: inout Command.Config) {
        c.critic.override(\.model, model)
        c.critic.override(\.adapter, adapter)
        if let endpoint { (c.critic.url, c.critic.source) = (endpoint, .endpoint) }
        c.critic.override(\.modelName, endpointModel)
        c.critic.override(\.maxNewTokens, maxNewTokens)
        c.critic.override(\.batchSize, batchSize)
    }
}

/// `text2grad critique`: the reward model's critiques of (prompt, response) pairs, as annotation records.
struct Critique: ParsableCommand, ConfiguredCommand {
    static let configuration = CommandConfiguration(
        commandName: "critique",
        abstract: "Critique (prompt, response) pairs with a reward model; writes annotation records.",
        discussion: """
            Input JSONL with id, prompt and response (annotation records work too). Local models generate greedily \
            with JSON-object constrained decoding; answers go through the annotator's parser and span aligner, so \
            the output is interchangeable with `annotate`'s. Answers that do not parse go to <output>.failures.jsonl. \
            With --tokenizer, each record also gets `token_scores`: the response's tokens and their span scores.
            """)

    @OptionGroup var file: ConfigFileOption
    @OptionGroup(title: "Critic") var critic: CriticOptions<Critique>
    @OptionGroup var aliases: CriticAliases<Critique>
    @Option(name: [.short, .customLong("input")], help: "Pairs JSONL.") var input: String?
    @Option(name: [.short, .long], help: "Output JSONL of annotation records.") var output: String?
    @Option(help: "A tokenizer directory for per-token scores (default: none).") var tokenizer: String?

    func resolvedConfig() throws -> CritiqueConfig {
        try Self.resolve(file: file.config) { c in
            aliases.apply(to: &c)
            critic.apply(to: &c)
            c.override(\.input, input)
            c.override(\.output, output)
            c.override(\.tokenizer, tokenizer)
        }
    }

    func run() throws {
        let c = try resolvedConfig()
        let input = c.input, output = c.output
        let lines = try JSONLines.read(path: input)
        let pairs = try lines.map { line -> CritiquePair in
            guard let prompt = line.object["prompt"]?.stringValue, let response = line.object["response"]?.stringValue
            else {
                throw FileError.badLine(path: input, line: line.number, detail: "needs string \"prompt\" and \"response\"")
            }
            return CritiquePair(id: line.object["id"]?.stringValue ?? "line \(line.number)", prompt: prompt,
                                response: response)
        }
        let recordsTask = lines.first?.object["task"]?.stringValue.flatMap { BuiltinTask(rawValue: $0)?.rawValue }
        let task = c.critic.task ?? recordsTask ?? "summarization"
        let (model, _) = try LocalModel.critic(c.critic, format: try RewardModelFormat.builtin(task))
        let scorer = try c.tokenizer.map { try Tokenizer.load(directory: URL(fileURLWithPath: $0)) }
        let started = Date()
        let outcomes = try model.critique(pairs)
        let records = try JSONLWriter(path: output)
        let failures = try JSONLWriter(path: (output.hasSuffix(".jsonl") ? String(output.dropLast(6)) : output) + ".failures.jsonl")
        var failed = 0
        for outcome in outcomes {
            switch outcome {
            case .record(let record):
                var object = try JSONValue.parse([UInt8](try JSONEncoder().encode(record)))
                if let scorer {
                    let encoding = scorer.encode(record.response, addSpecialTokens: false)
                    let spans = record.spans.compactMap { s in s.start.flatMap { a in s.end.map { ScoredSpan(start: a, end: $0, score: s.score) } } }
                    let scores = spanTokenScores(offsets: encoding.offsets, spans: spans, text: record.response)
                    object["token_scores"] = .array(
                        zip(encoding.tokens, scores).map { ["token": JSONValue($0), "score": JSONValue(Double($1))] })
                }
                try records.write(object)
            case let .failure(id, raw, problem):
                failed += 1
                try failures.write(
                    ["id": JSONValue(id), "kind": "parse", "reason": JSONValue(problem), "raw": JSONValue(raw)])
            }
        }
        note(String(format: "critique: %d pairs in %.1f s, %d parse failures", pairs.count, Date().timeIntervalSince(started), failed))
    }
}

/// `text2grad eval-rm`: a reward model's critiques against the teacher's on held-out annotation records.
struct EvalRM: ParsableCommand, ConfiguredCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-rm",
        abstract: "Evaluate a reward model on held-out annotation records: span and token P/R/F1, failure rates.",
        discussion: """
            Critiques the held-out records of --annotations (the ids train-rm held out with the same --eval-fraction, \
            or every record with --all) with the model (or reads --predictions, the output of `critique`), then \
            compares spans with the teacher's per label: exact and overlapping span P/R/F1, token P/R/F1 over the \
            response's tokens, the unmatched-span and parse-failure rates (a parse failure predicts nothing). \
            Prints a JSON summary; --output gets one line per record.
            """)

    @OptionGroup var file: ConfigFileOption
    @OptionGroup(title: "Critic") var critic: CriticOptions<EvalRM>
    @OptionGroup var aliases: CriticAliases<EvalRM>
    @Option(help: "Gold annotation records (the teacher's).") var annotations: String?
    @Option(help: "Already computed critiques (annotation records) to score instead of running a model.") var predictions: String?
    @Option(help: ArgumentHelp("The held-out fraction train-rm used." + Self.defaultNote(\.evalFraction)))
    var evalFraction: Double?
    @Flag(help: "Score every record, not only the held-out ones.") var all = false
    @Option(help: "Tokenizer directory for the token metrics (default: the model's).") var tokenizer: String?
    @Option(name: [.short, .long], help: "Per-record JSONL.") var output: String?

    func resolvedConfig() throws -> EvalRMConfig {
        try Self.resolve(file: file.config) { c in
            aliases.apply(to: &c)
            critic.apply(to: &c)
            c.override(\.annotations, annotations)
            c.override(\.predictions, predictions)
            c.override(\.evalFraction, evalFraction)
            if all { c.all = true }
            c.override(\.tokenizer, tokenizer)
            c.override(\.output, output)
        }
    }

    func run() throws {
        let c = try resolvedConfig()
        let annotations = c.annotations
        let gold = try RewardModelData.records(path: annotations).filter {
            c.all || RewardModelData.isHeldOut($0.id, fraction: c.evalFraction)
        }
        guard !gold.isEmpty else { throw ValidationError("no held-out records in \(annotations); try --all") }
        let format = try RewardModelData.format(of: gold, path: annotations)
        var outcomes: [CritiqueOutcome]
        var scorer = try c.tokenizer.map { try Tokenizer.load(directory: URL(fileURLWithPath: $0)) }
        if let predictions = c.predictions {
            let byID = Dictionary(try RewardModelData.records(path: predictions).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            outcomes = gold.map { g in byID[g.id].map(CritiqueOutcome.record) ?? .failure(id: g.id, raw: "", problem: "no prediction") }
        } else {
            let (model, modelTokenizer) = try LocalModel.critic(c.critic, format: format)
            scorer = scorer ?? modelTokenizer
            outcomes = try model.critique(gold.map { CritiquePair(id: $0.id, prompt: $0.prompt, response: $0.response) })
        }
        guard let scorer else { throw ValidationError("token metrics need --tokenizer DIR") }
        var evaluation = RewardModelEvaluation(format: format)
        let sink = try c.output.map { try JSONLWriter(path: $0) }
        for (record, outcome) in zip(gold, outcomes) {
            let scores = evaluation.add(gold: record, predicted: outcome, tokenizer: scorer)
            var line: JSONValue = ["id": JSONValue(record.id), "parsed": JSONValue(outcome.record != nil),
                                   "labels": .object(scores.map { ($0.key, $0.value.json) })]
            if case let .failure(_, raw, problem) = outcome {
                line["problem"] = JSONValue(problem)
                line["raw"] = JSONValue(raw)
            }
            try sink?.write(line)
        }
        try StandardOutput.line(JSONLines.encode(evaluation.summary))
    }
}
