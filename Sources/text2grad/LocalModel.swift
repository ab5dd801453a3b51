import ArgumentParser
import Common
import Foundation
import Generation
import LLMClient
import Models
import RewardModel
import Tasks
import Tensor
import Tokenizers

/// Local models for the commands that decode, and the critic every command that critiques uses.
enum LocalModel {
    /// A model directory with an optional adapter folded into the weights (decoding then costs what the base model
    /// costs), and the tokenizer from the model directory. The bf16 copies, when `weights` asks for them, are made
    /// after the adapter is merged.
    static func load(model: String, adapter: String?, weights: DecodePrecision = .auto) throws -> (LlamaModel, Tokenizer) {
        let lm = try LlamaModel(directory: model)
        if let adapter {
            lm.weights.merge(try LoRAAdapter.load(directory: adapter, config: lm.config))
        }
        lm.useDecodePrecision(weights)
        return (lm, try Tokenizer.load(directory: URL(fileURLWithPath: model)))
    }

    /// The critic `settings` name, labelling spans as `format` does: a local reward model (also returning its
    /// tokenizer), an endpoint serving one, a teacher LLM, or the built-in teacher. A reward model's answer format
    /// is its saved one (`RewardModelInfo`), else `rm_target`, else critique+spans; the critic's `format` says which.
    static func critic(_ settings: CriticSettings, format: RewardModelFormat, weights: DecodePrecision = .auto)
        throws -> (Critic, Tokenizer?)
    {
        try settings.validateSource { ValidationError($0) }
        let critic: Critic
        var tokenizer: Tokenizer?
        if let target = settings.target, target != .critiqueSpans, [.teacher, .builtin].contains(settings.source) {
            throw ValidationError("'rm_target: \(target.rawValue)' is a reward model's format; a teacher and the "
                                  + "built-in teacher answer critique+spans")
        }
        switch settings.source {
        case .rm:
            let model = settings.model ?? ""
            let format = try RewardModelInfo.format(format, directories: [settings.adapter, model].compactMap { $0 },
                                                    requested: settings.target)
            let (lm, tok) = try load(model: model, adapter: settings.adapter, weights: weights)
            critic = Critic(backend: .local(Generator(model: lm, tokenizer: tok), name: settings.adapter ?? model),
                            format: format)
            tokenizer = tok
        case .endpoint, .teacher:
            var endpoint = EndpointSettings(baseURL: settings.url ?? "", model: settings.modelName,
                                            apiKey: ProcessInfo.processInfo.environment["OPENAI_API_KEY"])
            endpoint.concurrency = settings.batchSize
            // An endpoint serves a reward model whose format only the settings can name (nothing is saved here).
            let format = settings.source == .endpoint
                ? try RewardModelInfo.format(format, directories: [], requested: settings.target) : format
            critic = Critic(backend: .remote(OpenAIClient(settings: endpoint), settings: endpoint), format: format)
            if settings.source == .teacher, let task = BuiltinTask(rawValue: format.task) {
                critic.asTeacher(task.make())
            }
        case .builtin:
            critic = try BuiltinTeacherSource.critic(format: format, maxQuotes: settings.maxQuotes)
        }
        critic.maxNewTokens = settings.maxNewTokens
        critic.batchSize = settings.batchSize
        critic.concurrency = settings.batchSize
        critic.quotesFromResponse = !settings.freeQuotes
        critic.maxQuotesPerLabel = settings.maxQuotes
        return (critic, tokenizer)
    }
}

extension ProductPrecision: ExpressibleByArgument {}
